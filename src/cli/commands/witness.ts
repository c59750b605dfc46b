// `chainlog witness <checkpoint>`: act as a witness for one checkpoint. Checks the log's
// signature, checks that it extends the last checkpoint this witness cosigned for its origin
// (state in --state DIR), and prints the cosignature line; refuses a rollback, a split view or
// a history that does not extend what it saw (CHAINLOG_WITNESS_REFUSED, exit status 1).
import type { Command } from 'commander'
import { ChainlogError, ErrorCodes } from '../../errors.js'
import type { ConsistencyProofText } from '../../proofs/proof.js'
import type { Witness } from '../../proofs/witness.js'
import { readInput, type Ctx } from '../context.js'
import { CliCodes, CliError, usageError } from '../errors.js'

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** A text file (or stdin for `-`), which must be UTF-8. */
export async function readText(ctx: Ctx, path: string, what: string): Promise<string> {
  const bytes = await readInput(ctx, path)
  try {
    return utf8.decode(bytes)
  } catch (err) {
    throw new CliError(CliCodes.INVALID_INPUT, `${what} ${path} is not UTF-8 text`, { cause: err })
  }
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value]

interface WitnessFlags {
  state: string
  key: string
  logKey: string[]
  proof?: string
  json?: boolean
}

export function registerWitness(program: Command, ctx: Ctx): void {
  program
    .command('witness <checkpoint>')
    .description('cosign a checkpoint if it extends the last one this witness saw for its origin')
    .requiredOption('--state <dir>', 'the witness state directory (one file per origin; created if missing)')
    .requiredOption('--key <file>', "the witness's signer key (from `chainlog key generate --witness`)")
    .requiredOption('--log-key <file>', 'a verifier key of a log whose checkpoints it witnesses (repeatable)', collect)
    .option('--proof <file>', 'the consistency proof from the last cosigned checkpoint ("old <size>" and hash lines)')
    .option('--json', 'print { origin, sessionId, size, oldSize, root, head, timestamp, cosignature, witness } as JSON')
    .action(async (checkpointFile: string, opts: WitnessFlags) => {
      // The proof modules (and Ed25519) are loaded when a witness runs, not when the CLI starts.
      const [{ keyIdHex, parseSignerKey, parseVerifierKey }, { parseConsistencyFile, parseConsistencyProof }, { Witness }] = await Promise.all([
        import('../../proofs/note.js'),
        import('../../proofs/proof.js'),
        import('../../proofs/witness.js'),
      ])
      if (opts.state === '') throw usageError('--state needs a directory; it was given an empty string')
      if (checkpointFile === '-' && opts.proof === '-') throw usageError('the checkpoint and --proof cannot both be read from stdin')
      const key = parseSignerKey(await readText(ctx, opts.key, 'the key file'))
      const logKeys = []
      for (const f of opts.logKey) logKeys.push(parseVerifierKey(await readText(ctx, f, 'the log key file')))
      const input = await readText(ctx, checkpointFile, 'the checkpoint file')
      // A consistency file (the tlog-witness add-checkpoint body) carries its proof; a bare checkpoint may come with --proof.
      let checkpoint = input
      let proof: ConsistencyProofText = { oldSize: 0, proof: [] }
      if (input.startsWith('old ')) {
        if (opts.proof !== undefined) throw usageError(`${checkpointFile} already holds a consistency proof; drop --proof`)
        const file = parseConsistencyFile(input)
        checkpoint = file.checkpoint
        proof = file
      } else if (opts.proof !== undefined) {
        proof = parseConsistencyProof(await readText(ctx, opts.proof, 'the proof file'))
      }
      let witness: Witness
      try {
        witness = new Witness({ stateDir: opts.state, key, logKeys })
      } catch (err) {
        if (err instanceof ChainlogError && err.code === ErrorCodes.INVALID_KEY) throw usageError(`--key: ${err.message}`)
        throw err
      }
      const r = await witness.add(checkpoint, proof)
      if (opts.json) {
        const { origin, sessionId, size, oldSize, root, head, timestamp, cosignature } = r
        ctx.out.json({ origin, sessionId, size, oldSize, root, head, timestamp, cosignature, witness: { name: key.name, keyId: keyIdHex(key.keyId) } })
        return
      }
      ctx.out.note(r.oldSize === 0 ? `cosigned ${r.origin} at size ${r.size} (the first checkpoint this witness saw of it)` : `cosigned ${r.origin} at size ${r.size} (extends size ${r.oldSize})`)
      ctx.out.io.stdout.write(r.cosignature)
    })
}
