// `chainlog key generate --name N --out FILE`: a new Ed25519 key pair in the C2SP signed-note
// key forms. FILE gets the signer (private) key, mode 0600; FILE.pub the verifier key. The
// private key is never printed, and existing files are never overwritten.
import { open, rm } from 'node:fs/promises'
import type { Command } from 'commander'
import { ChainlogError } from '../../errors.js'
import type { Ctx } from '../context.js'
import { CliCodes, CliError, usageError } from '../errors.js'

/** Create `path` with `text`, failing if it exists; fsynced before it is closed. */
async function createFile(path: string, text: string, mode: number): Promise<void> {
  let fh
  try {
    fh = await open(path, 'wx', mode)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') throw usageError(`${path} exists; refusing to overwrite a key file`)
    if (code === 'ENOENT') throw new CliError(CliCodes.FILE_NOT_FOUND, `no such directory for ${path}`, { cause: err })
    throw err
  }
  try {
    await fh.chmod(mode) // whatever the umask
    await fh.writeFile(text)
    await fh.sync()
  } finally {
    await fh.close()
  }
}

export function registerKey(program: Command, ctx: Ctx): void {
  const key = program.command('key').description('signing keys for checkpoints and witness cosignatures')
  key
    .command('generate')
    .description('write a new key pair: FILE (private, mode 0600) and FILE.pub (verifier key)')
    .requiredOption('--name <name>', 'the key name, e.g. example.com/my-store (no spaces or +)')
    .requiredOption('--out <file>', 'where to write the signer key; the verifier key goes to <file>.pub')
    .option('--witness', 'a witness key (cosignature/v1, type 0x04) instead of a log key (Ed25519, type 0x01)')
    .option('--json', 'print { name, keyId, type, verifierKey, signerKeyFile, verifierKeyFile } as JSON')
    .action(async (opts: { name: string; out: string; witness?: boolean; json?: boolean }) => {
      // Ed25519 is loaded when a key is made, not when the CLI starts.
      const { SIG_COSIGNATURE_V1, SIG_ED25519, generateKeyPair, keyIdHex } = await import('../../proofs/note.js')
      if (opts.out === '') throw usageError('--out needs a file name; it was given an empty string')
      let pair
      try {
        pair = generateKeyPair(opts.name, { type: opts.witness ? SIG_COSIGNATURE_V1 : SIG_ED25519 })
      } catch (err) {
        if (err instanceof ChainlogError) throw usageError(`--name: ${err.message}`)
        throw err
      }
      const pub = `${opts.out}.pub`
      await createFile(opts.out, `${pair.signerKey}\n`, 0o600)
      try {
        await createFile(pub, `${pair.verifierKey}\n`, 0o644)
      } catch (err) {
        await rm(opts.out, { force: true }) // no private key without its verifier key
        throw err
      }
      const type = opts.witness ? 'cosignature/v1' : 'ed25519'
      if (opts.json) {
        ctx.out.json({ name: pair.name, keyId: keyIdHex(pair.keyId), type, verifierKey: pair.verifierKey, signerKeyFile: opts.out, verifierKeyFile: pub })
        return
      }
      ctx.out.line(`wrote the ${opts.witness ? 'witness' : 'signing'} key ${pair.name} (key ID ${keyIdHex(pair.keyId)}): private key to ${opts.out} (mode 0600, keep it secret), verifier key to ${pub}:`)
      ctx.out.line(pair.verifierKey)
    })
}
