// `chainlog checkpoint <session> --key FILE`: a signed checkpoint of a session.
// `chainlog prove <entry> [--checkpoint F | --key FILE]`: an inclusion proof file for an entry.
// `chainlog prove [session] --consistency OLD [NEW] --key FILE`: a consistency file from OLD (a
// size, or a checkpoint file) to NEW (a size; default the session's size now).
// docs/proofs.md has the formats; docs/cli.md the commands.
import type { Command } from 'commander'
import { ChainlogError } from '../../errors.js'
import type { SignerKey } from '../../proofs/note.js'
import { parseDecimal } from '../../proofs/text.js'
import { readInput, type Ctx } from '../context.js'
import { CliCodes, CliError, usageError } from '../errors.js'
import { resolveSession } from '../sessions.js'
import { withStore } from '../store-access.js'

const dec = new TextDecoder()

/** Ed25519 and the proof formats are loaded when a command runs, not at start-up. */
async function load() {
  const [checkpoints, note, proofs] = await Promise.all([import('../../proofs/checkpoint.js'), import('../../proofs/note.js'), import('../../proofs/proof.js')])
  return { ...checkpoints, ...note, ...proofs }
}

/** A text file (or - for stdin), without one final newline. */
async function readText(ctx: Ctx, file: string): Promise<string> {
  return dec.decode(await readInput(ctx, file))
}

/** A log (type 0x01) signer key file; a bad or witness key is CLI invalid input. */
export async function readSigner(ctx: Ctx, file: string): Promise<SignerKey> {
  const { toSignerKey, SIG_ED25519 } = await load()
  const text = (await readText(ctx, file)).replace(/\n$/, '')
  let key: SignerKey
  try {
    key = toSignerKey(text)
  } catch (err) {
    if (err instanceof ChainlogError) throw new CliError(CliCodes.INVALID_INPUT, `--key ${file}: ${err.message}`, { cause: err })
    throw err
  }
  if (key.type !== SIG_ED25519) throw new CliError(CliCodes.INVALID_INPUT, `--key ${file} is a witness key; checkpoints are signed with a log key (chainlog key generate without --witness)`)
  return key
}

/**
 * The key as the store is opened with it: checkpoints and proofs are signed with it in this
 * process, also when another process holds the store (it only reads the tree there).
 */
async function withKey(key: SignerKey | undefined): Promise<{ signingKey?: string }> {
  if (!key) return {}
  const { formatSignerKey } = await load()
  return { signingKey: formatSignerKey(key) }
}

function size(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined
  const n = parseDecimal(text)
  if (n === undefined || n < 1) throw usageError(`${what} must be a positive whole number, not ${text}`)
  return n
}

export function registerProofs(program: Command, ctx: Ctx): void {
  program
    .command('checkpoint <session>')
    .description('print a signed checkpoint (C2SP tlog-checkpoint) of a session: its size, Merkle root and head')
    .requiredOption('--key <file>', 'the signer key file (chainlog key generate)')
    .option('--size <n>', 'the checkpoint of the session at its first n entries (default: all)')
    .option('--json', 'print { sessionId, size, root, head, checkpoint } as JSON')
    .action(async (session: string, opts: { key: string; size?: string; json?: boolean }) => {
      const at = size(opts.size, '--size')
      const key = await readSigner(ctx, opts.key)
      const { parseChainlogCheckpoint, parseNote, rootBase64 } = await load()
      const out = await withStore(
        ctx.storeDir(),
        async (store) => {
          const sessionId = await resolveSession(store, session)
          const note = await store.checkpoint(sessionId, at !== undefined ? { size: at } : {})
          const cp = parseChainlogCheckpoint(parseNote(note).text)
          return { sessionId, size: cp.size, root: rootBase64(cp), head: cp.head, checkpoint: note }
        },
        await withKey(key),
      )
      if (opts.json) ctx.out.json(out)
      else ctx.out.line(out.checkpoint.replace(/\n$/, ''))
    })

  program
    .command('prove [entry]')
    .description('print an inclusion proof file for an entry (hash or prefix), or with --consistency a consistency file for a session')
    .option('--checkpoint <file>', 'prove against this signed checkpoint (no key needed)')
    .option('--key <file>', 'the signer key file, to sign a checkpoint now')
    .option('--size <n>', 'with --key: prove against the session at its first n entries (default: all)')
    .option('--consistency <sizes...>', 'OLD [NEW]: prove the session at OLD entries (or the checkpoint in file OLD) is a prefix of it at NEW (default: now)')
    .option('--json', 'print the proof and what it proves as JSON')
    .action(async (entry: string | undefined, opts: { checkpoint?: string; key?: string; size?: string; consistency?: string[]; json?: boolean }) => {
      if (opts.consistency !== undefined) {
        await consistencyCommand(ctx, entry, opts)
        return
      }
      if (entry === undefined) throw usageError('give an entry hash or prefix (or --consistency OLD [NEW])')
      if ((opts.checkpoint === undefined) === (opts.key === undefined)) throw usageError('give --checkpoint FILE or --key FILE (exactly one)')
      if (opts.checkpoint !== undefined && opts.size !== undefined) throw usageError('--size goes with --key; a checkpoint has its own size')
      const at = size(opts.size, '--size')
      const key = opts.key !== undefined ? await readSigner(ctx, opts.key) : undefined
      const given = opts.checkpoint !== undefined ? await readText(ctx, opts.checkpoint) : undefined
      const { parseProofFile, parseChainlogCheckpoint, parseNote } = await load()
      const file = await withStore(
        ctx.storeDir(),
        (store) => store.prove(entry, { ...(at !== undefined ? { size: at } : {}), ...(given !== undefined ? { checkpoint: given } : {}) }),
        await withKey(key),
      )
      if (opts.json) {
        const p = parseProofFile(file)
        const cp = parseChainlogCheckpoint(parseNote(p.checkpoint).text)
        ctx.out.json({ entry: p.entryHash, index: p.index, size: cp.size, origin: cp.origin, proof: file })
      } else ctx.out.line(file.replace(/\n$/, ''))
    })
}

async function consistencyCommand(ctx: Ctx, session: string | undefined, opts: { key?: string; checkpoint?: string; size?: string; consistency?: string[]; json?: boolean }): Promise<void> {
  const args = opts.consistency ?? []
  if (args.length < 1 || args.length > 2) throw usageError('--consistency takes OLD and optionally NEW')
  if (opts.key === undefined) throw usageError('--consistency needs --key FILE (the new checkpoint is signed)')
  if (opts.checkpoint !== undefined || opts.size !== undefined) throw usageError('--consistency cannot be combined with --checkpoint or --size')
  const key = await readSigner(ctx, opts.key)
  const { parseConsistencyFile, parseChainlogCheckpoint, parseNote } = await load()
  let oldSize = parseDecimal(args[0]!)
  let sessionId = session
  if (oldSize === undefined) {
    // A checkpoint file: its session and size.
    let cp
    try {
      cp = parseChainlogCheckpoint(parseNote(await readText(ctx, args[0]!)).text)
    } catch (err) {
      if (err instanceof ChainlogError) throw new CliError(CliCodes.INVALID_INPUT, `${args[0]}: ${err.message}`, { cause: err })
      throw err
    }
    const prefix = `${key.name}/`
    if (!cp.origin.startsWith(prefix)) throw new CliError(CliCodes.INVALID_INPUT, `${args[0]} is a checkpoint of ${cp.origin}, not of a session this key signs`)
    const fromFile = cp.origin.slice(prefix.length)
    if (sessionId !== undefined && sessionId !== fromFile) throw usageError(`${args[0]} is a checkpoint of session ${fromFile}, not ${sessionId}`)
    sessionId = fromFile
    oldSize = cp.size
  }
  if (sessionId === undefined) throw usageError('give the session (or an OLD checkpoint file)')
  if (oldSize < 1) throw usageError('OLD must be at least 1')
  const newSize = size(args[1], 'NEW')
  const sid = sessionId
  const file = await withStore(ctx.storeDir(), async (store) => store.proveConsistency(await resolveSession(store, sid), oldSize, newSize), await withKey(key))
  if (opts.json) {
    const p = parseConsistencyFile(file)
    ctx.out.json({ sessionId: sid, oldSize: p.oldSize, newSize: parseChainlogCheckpoint(parseNote(p.checkpoint).text).size, proof: file })
  } else ctx.out.line(file.replace(/\n$/, ''))
}
