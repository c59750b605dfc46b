// Child of crash.test.ts: appends to a few sessions of a classic-level store (durability sync or relaxed)
// as fast as it can, and prints one line per acknowledged entry, only after the append's
// promise resolved:  A <sessionId> <seq> <hash>
// The parent kills it with SIGKILL at a random moment and checks the store.
// Usage: node crash-child.mjs <dir> <sessions> <seed> [sync|relaxed]
import { openStore } from '../../dist/index.js'

const [dir, nArg, seedArg, durabilityArg] = process.argv.slice(2)
const sessions = Number(nArg ?? 4)
let seed = Number(seedArg ?? 1) >>> 0
const rand = () => {
  // xorshift32: reproducible per seed
  seed ^= seed << 13
  seed >>>= 0
  seed ^= seed >>> 17
  seed ^= seed << 5
  seed >>>= 0
  return seed / 0x100000000
}

// process.stdout is synchronous for pipes on Linux: a printed line is in the pipe before the
// next statement runs, so a kill after it cannot lose it.
const say = (line) => process.stdout.write(line + '\n')

const store = await openStore({ path: dir, exclusive: true, durability: durabilityArg === 'relaxed' ? 'relaxed' : 'sync' })
const ids = []
for (let i = 0; i < sessions; i++) {
  const sessionId = `crash-${i}`
  try {
    const r = await store.createSession({ sessionId, systemPrompt: 'crash test', config: { model: 'm1' } })
    say(`A ${sessionId} 0 ${r.head}`)
  } catch (err) {
    if (err.code !== 'CHAINLOG_SESSION_EXISTS') throw err
  }
  ids.push(sessionId)
}
say('READY')

const text = (n) => 'x'.repeat(n)
let round = 0
async function one(sessionId) {
  const r = rand()
  const n = round
  let results
  if (r < 0.45) {
    // A whole turn in one batch: user, assistant + tool call, tool result, usage, turn_end.
    const big = rand() < 0.2 ? text(1000 + Math.floor(rand() * 20000)) : `out ${n}`
    const t = await store.appendTurn(
      sessionId,
      [
        { role: 'user', content: `question ${n}` },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: `answer ${n}` }] },
        { type: 'function_call', call_id: `c${n}`, name: 'ls', arguments: '{}' },
        { type: 'function_call_output', call_id: `c${n}`, output: big },
      ],
      { usage: { historyLength: n, model: 'm1', inputTokens: 10, cacheReadTokens: 0, cacheWriteTokens: 0, outputTokens: 5, reasoningTokens: 0 }, turnEnd: true },
    )
    results = t.entries
  } else if (r < 0.75) {
    // Compare-and-set on the head we know.
    const head = await store.head(sessionId)
    const t = await store.appendTurn(sessionId, [{ role: 'user', content: `cas ${n}` }], { expectedHead: head })
    results = t.entries
  } else {
    results = [await store.appendCustom(sessionId, 'com.example.crash', 'tick', { n, pad: text(Math.floor(rand() * 3000)) })]
  }
  for (const e of results) say(`A ${sessionId} ${e.seq} ${e.hash}`)
}

for (;;) {
  round++
  // All sessions at once, so group commit merges their batches.
  await Promise.all(ids.map(one))
}
