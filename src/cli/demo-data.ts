// The demo store: a few sessions of agents at work, written through the public API the way a
// runtime would (appendTurn with expectedHead, usage per model call, turn ends, a config change,
// a cache lock, outcomes), then a fork and a compaction. Items follow the providers' own shapes:
// OpenAI Responses items for one agent, Anthropic messages and content blocks for another.
import type { ChainlogStore as Store, Usage } from '../index.js'

export interface DemoSession {
  sessionId: string
  title: string
}

export interface DemoResult {
  sessions: DemoSession[]
  /** The entry the fork was taken at. */
  forkPoint: string
}

const MIN = 60_000

/** A clock that moves forward a little with every step, so the demo reads like a real day. */
class Clock {
  constructor(private t: number) {}
  tick(seconds: number): number {
    this.t += seconds * 1000
    return this.t
  }
}

function gpt(historyLength: number, input: number, cached: number, output: number, reasoning: number, model = 'gpt-5'): Usage {
  return { historyLength, model, inputTokens: input, cacheReadTokens: cached, cacheWriteTokens: 0, outputTokens: output, reasoningTokens: reasoning }
}

function claude(historyLength: number, input: number, cacheRead: number, cacheWrite: number, output: number): Usage {
  return { historyLength, model: 'claude-sonnet-4-5', inputTokens: input, cacheReadTokens: cacheRead, cacheWriteTokens: cacheWrite, outputTokens: output, reasoningTokens: 0 }
}

// ---- OpenAI Responses item builders ----------------------------------------------------------

const userMsg = (text: string) => ({ type: 'message', role: 'user', content: [{ type: 'input_text', text }] })
const assistantMsg = (id: string, text: string) => ({
  type: 'message',
  id,
  role: 'assistant',
  status: 'completed',
  content: [{ type: 'output_text', text, annotations: [] }],
})
const reasoning = (id: string, summary: string) => ({ type: 'reasoning', id, summary: [{ type: 'summary_text', text: summary }] })
const call = (id: string, callId: string, name: string, args: unknown) => ({
  type: 'function_call',
  id,
  call_id: callId,
  name,
  arguments: JSON.stringify(args),
  status: 'completed',
})
const output = (callId: string, text: string) => ({ type: 'function_call_output', call_id: callId, output: text })

const CODING_PROMPT =
  'You are a coding agent working in a TypeScript repository. Use the tools to read files, run commands and apply patches. Make the smallest change that fixes the problem, and run the tests before you say you are done.'

const CODING_CONFIG = {
  model: 'gpt-5',
  reasoning: { effort: 'medium', summary: 'auto' },
  tools: ['shell', 'read_file', 'apply_patch'],
  maxOutputTokens: 8192,
}

const FAILING_TEST = `FAIL  test/parse-date.test.ts > parseDate > keeps the offset of ISO dates
AssertionError: expected 2024-03-10T01:30:00.000Z to equal 2024-03-10T02:30:00.000Z
 ❯ test/parse-date.test.ts:18:41
Test Files  1 failed (1)
     Tests  1 failed | 11 passed (12)`

const PARSE_DATE_SRC = `export function parseDate(input: string): Date {
  const m = /^(\\d{4})-(\\d{2})-(\\d{2})T(\\d{2}):(\\d{2})(?::(\\d{2}))?(Z|[+-]\\d{2}:\\d{2})?$/.exec(input)
  if (!m) throw new RangeError(\`not an ISO date: \${input}\`)
  const [, y, mo, d, h, mi, s = '0', tz] = m
  const local = new Date(+y, +mo - 1, +d, +h, +mi, +s)
  return tz ? shiftToOffset(local, tz) : local
}`

/** Session 1: a coding agent fixes a failing test over three turns. */
async function codingSession(store: Store, clock: Clock): Promise<{ sessionId: string; forkPoint: string }> {
  const { sessionId, head: genesis } = await store.createSession({ systemPrompt: CODING_PROMPT, config: CODING_CONFIG, ts: clock.tick(0) })
  let head = genesis

  // Turn 1: reproduce, read the code.
  const t1 = await store.appendTurn(
    sessionId,
    [
      userMsg('The date parsing test in test/parse-date.test.ts started failing this morning. Can you find out why and fix it?'),
      reasoning('rs_01', 'Run the failing test first to see the actual error.'),
      call('fc_01', 'call_01', 'shell', { command: ['npx', 'vitest', 'run', 'test/parse-date.test.ts'] }),
      output('call_01', FAILING_TEST),
      reasoning('rs_02', 'Off by exactly one hour on 2024-03-10: a DST boundary. Look at how the date is built.'),
      call('fc_02', 'call_02', 'read_file', { path: 'src/parse-date.ts' }),
      output('call_02', PARSE_DATE_SRC),
      assistantMsg('msg_01', 'The parser builds the date in local time and then shifts it, so on the DST switch (2024-03-10 in the US) it lands one hour off. It should build the date in UTC when an offset is given. Shall I fix it that way?'),
    ],
    {
      expectedHead: head,
      ts: clock.tick(40),
      usage: [gpt(2, 2914, 0, 164, 128), gpt(4, 3471, 2816, 118, 64), gpt(6, 4388, 3328, 301, 192)],
      turnEnd: true,
    },
  )
  head = t1.head
  const forkPoint = t1.entries[2]!.hash // the first tool_results entry: the failing test output

  // Pin the prompt prefix so later calls reuse the provider's cache.
  head = (await store.append(sessionId, { kind: 'cache_locked', prefixLength: 8, ts: clock.tick(5) }, { expectedHead: head })).hash

  // Turn 2: patch and re-run.
  const t2 = await store.appendTurn(
    sessionId,
    [
      userMsg('Yes, build it in UTC. No new dependencies please.'),
      reasoning('rs_03', 'Use Date.UTC and subtract the offset in minutes.'),
      call('fc_03', 'call_03', 'apply_patch', {
        patch: '*** Update File: src/parse-date.ts\n-  const local = new Date(+y, +mo - 1, +d, +h, +mi, +s)\n-  return tz ? shiftToOffset(local, tz) : local\n+  if (!tz) return new Date(+y, +mo - 1, +d, +h, +mi, +s)\n+  return new Date(Date.UTC(+y, +mo - 1, +d, +h, +mi, +s) - offsetMinutes(tz) * 60_000)',
      }),
      output('call_03', 'Done! Updated 1 file: src/parse-date.ts'),
      call('fc_04', 'call_04', 'shell', { command: ['npx', 'vitest', 'run', 'test/parse-date.test.ts'] }),
      output('call_04', ' ✓ test/parse-date.test.ts (12 tests) 9ms\n Test Files  1 passed (1)\n      Tests  12 passed (12)'),
      assistantMsg('msg_02', 'Fixed: dates with an offset are now built with Date.UTC, so the DST switch no longer moves them. All 12 tests pass.'),
    ],
    {
      expectedHead: head,
      ts: clock.tick(3 * 60),
      usage: [gpt(10, 5016, 4352, 412, 256), gpt(12, 5240, 4864, 96, 0), gpt(14, 5578, 4864, 142, 64)],
      turnEnd: true,
    },
  )
  head = t2.head

  // The user asks for more care on the next step: more reasoning effort.
  const config = { ...CODING_CONFIG, reasoning: { effort: 'high', summary: 'auto' } }
  head = (await store.append(sessionId, { kind: 'config_changed', config, ts: clock.tick(20) }, { expectedHead: head })).hash

  // Turn 3: a regression test.
  const t3 = await store.appendTurn(
    sessionId,
    [
      userMsg('Great. Please add a regression test for the DST boundary, for both the spring and the autumn switch.'),
      reasoning('rs_04', 'Two cases: 2024-03-10T02:30-05:00 and 2024-11-03T01:30-04:00.'),
      call('fc_05', 'call_05', 'apply_patch', { patch: '*** Update File: test/parse-date.test.ts\n+  it.each([...DST_CASES])(\'keeps the offset across DST: %s\', ...)' }),
      output('call_05', 'Done! Updated 1 file: test/parse-date.test.ts'),
      call('fc_06', 'call_06', 'shell', { command: ['npm', 'test'] }),
      output('call_06', ' Test Files  9 passed (9)\n      Tests  86 passed (86)'),
      assistantMsg('msg_03', 'Added two regression cases (spring and autumn DST switch); the whole suite passes (86 tests).'),
    ],
    {
      expectedHead: head,
      ts: clock.tick(2 * 60),
      usage: [gpt(16, 6012, 4864, 688, 512), gpt(18, 6321, 5888, 87, 0), gpt(20, 6604, 5888, 131, 64)],
      turnEnd: true,
    },
  )
  head = t3.head
  await store.append(sessionId, { kind: 'run_outcome', status: 'finished', interrupted: false, ts: clock.tick(2) }, { expectedHead: head })
  return { sessionId, forkPoint }
}

/** The fork: back at the failing test output, the user tries another approach. */
async function forkedAttempt(store: Store, clock: Clock, forkPoint: string): Promise<string> {
  const { sessionId, head } = await store.forkAt(forkPoint, { ts: clock.tick(30) })
  const t = await store.appendTurn(
    sessionId,
    [
      userMsg('Before you change the parser: could the test itself be wrong? Check what the fixture expects.'),
      reasoning('rs_11', 'Read the test to see how the expected value is built.'),
      call('fc_11', 'call_11', 'read_file', { path: 'test/parse-date.test.ts' }),
      output('call_11', "it('keeps the offset of ISO dates', () => {\n  expect(parseDate('2024-03-10T02:30-05:00')).toEqual(new Date('2024-03-10T07:30:00Z'))\n})"),
      assistantMsg('msg_11', 'The fixture is right: 02:30-05:00 is 07:30Z. The bug is in the parser, not the test.'),
    ],
    { expectedHead: head, ts: clock.tick(50), usage: [gpt(5, 3890, 2816, 201, 128), gpt(7, 4460, 3328, 176, 64)], turnEnd: true },
  )
  await store.append(sessionId, { kind: 'run_outcome', status: 'yielded', interrupted: false, ts: clock.tick(2) }, { expectedHead: t.head })
  return sessionId
}

// ---- Anthropic Messages ------------------------------------------------------------------------

const TRIAGE_PROMPT = 'You are a release assistant for the acme/web repository. You can search issues and read pull requests. Be concise.'

const ISSUES = JSON.stringify([
  { number: 412, title: 'Checkout button stays disabled after coupon removal', labels: ['bug', 'checkout'], comments: 7 },
  { number: 418, title: 'Dark mode: tooltip text is unreadable', labels: ['bug', 'ui'], comments: 2 },
  { number: 421, title: 'Session expires during long uploads', labels: ['bug', 'auth'], comments: 11 },
])

/** Session 2: a triage assistant with Anthropic-style messages; compacted afterwards. */
async function triageSession(store: Store, clock: Clock): Promise<string> {
  const { sessionId, head: genesis } = await store.createSession({
    systemPrompt: TRIAGE_PROMPT,
    config: { model: 'claude-sonnet-4-5', maxTokens: 4096, thinking: { type: 'enabled', budgetTokens: 2048 }, tools: ['search_issues', 'get_pull_request'] },
    ts: clock.tick(0),
  })
  const t1 = await store.appendTurn(
    sessionId,
    [
      { role: 'user', content: 'Triage the open issues labelled bug and draft a summary for the weekly sync.' },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'List the open bug issues first, then look at the ones with the most discussion.', signature: 'EqQBCkYIBxgCKkDx…' },
          { type: 'tool_use', id: 'toolu_01A', name: 'search_issues', input: { repo: 'acme/web', labels: ['bug'], state: 'open' } },
        ],
      },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01A', content: ISSUES }] },
      {
        role: 'assistant',
        content: [
          { type: 'tool_use', id: 'toolu_01B', name: 'get_pull_request', input: { repo: 'acme/web', query: 'fixes #421' } },
        ],
      },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01B', content: '#427 "Refresh the token during chunked uploads" (open, 2 approvals, CI green)' }] },
      {
        role: 'assistant',
        content: [
          {
            type: 'text',
            text: 'Three open bugs. #421 (session expiry during uploads) has the most discussion and a ready fix in #427. #412 blocks some checkouts and has no owner yet. #418 is cosmetic.',
          },
        ],
      },
    ],
    { expectedHead: genesis, ts: clock.tick(25), usage: [claude(1, 1840, 0, 1712, 212), claude(3, 2390, 1712, 0, 98), claude(5, 2702, 1712, 0, 186)], turnEnd: true },
  )
  // A runtime hook injects a reminder before the next turn.
  const hook = await store.appendTurn(sessionId, [{ type: 'message', role: 'system', content: 'Reminder: the weekly sync is at 15:00; keep the summary under 120 words.' }], {
    expectedHead: t1.head,
    ts: clock.tick(60),
  })
  const t2 = await store.appendTurn(
    sessionId,
    [
      { role: 'user', content: 'Draft the summary now, with owners where we have them.' },
      {
        role: 'assistant',
        content: [
          {
            type: 'text',
            text: 'Weekly bug summary: #421 session expiry during uploads (fix in #427, ready to merge, owner: Priya). #412 checkout button disabled after coupon removal (needs an owner, affects conversions). #418 dark-mode tooltip contrast (low priority).',
          },
        ],
      },
    ],
    { expectedHead: hook.head, ts: clock.tick(90), usage: claude(8, 3105, 2890, 0, 164), turnEnd: true },
  )
  const approval = await store.append(
    sessionId,
    { kind: 'custom', namespace: 'com.example.agent', type: 'approval', data: { tool: 'post_message', channel: '#weekly-sync', decision: 'approved' }, ts: clock.tick(30) },
    { expectedHead: t2.head },
  )
  await store.append(sessionId, { kind: 'run_outcome', status: 'paused', interrupted: false, ts: clock.tick(1) }, { expectedHead: approval.hash })
  return sessionId
}

/** The compaction of session 2: a new session starting from a summary; the source is untouched. */
async function compactedTriage(store: Store, clock: Clock, sourceId: string): Promise<string> {
  const summary =
    'The user asked for a triage of open bugs in acme/web. Three are open: #421 session expiry during uploads (fix in #427, owner Priya), #412 checkout button disabled after coupon removal (no owner), #418 dark-mode tooltip contrast (low priority). A summary was posted to #weekly-sync.'
  const { sessionId, head } = await store.compact(sourceId, {
    history: [{ role: 'user', content: `Summary of the conversation so far: ${summary}` }],
    summary,
    details: { summarizer: 'claude-haiku-4-5', reason: 'context window at 80%' },
    ts: clock.tick(5 * 60),
  })
  const t = await store.appendTurn(
    sessionId,
    [
      { role: 'user', content: 'Priya merged #427. Update the summary.' },
      { role: 'assistant', content: [{ type: 'text', text: 'Updated: #421 is fixed by #427 (merged). Still open: #412 (needs an owner) and #418 (low priority).' }] },
    ],
    { expectedHead: head, ts: clock.tick(40), usage: claude(3, 1420, 0, 1290, 71), turnEnd: true },
  )
  await store.append(sessionId, { kind: 'run_outcome', status: 'finished', interrupted: false, ts: clock.tick(2) }, { expectedHead: t.head })
  return sessionId
}

/** Session 3: a smaller model runs out of its step budget. */
async function upgradeSession(store: Store, clock: Clock): Promise<string> {
  const { sessionId, head } = await store.createSession({
    systemPrompt: CODING_PROMPT,
    config: { ...CODING_CONFIG, model: 'gpt-5-mini', maxSteps: 4 },
    ts: clock.tick(0),
  })
  const mini = (h: number, i: number, c: number, o: number, r: number) => gpt(h, i, c, o, r, 'gpt-5-mini')
  const t = await store.appendTurn(
    sessionId,
    [
      userMsg('Upgrade the project to Node 22 and fix whatever breaks in the build.'),
      call('fc_21', 'call_21', 'shell', { command: ['sed', '-i', 's/"node": ">=20"/"node": ">=22"/', 'package.json'] }),
      output('call_21', ''),
      call('fc_22', 'call_22', 'shell', { command: ['npm', 'run', 'build'] }),
      output('call_22', "src/server.ts(14,8): error TS2307: Cannot find module 'node:sqlite' or its corresponding type declarations."),
      reasoning('rs_21', '@types/node is still on 20; it needs 22.'),
      call('fc_23', 'call_23', 'shell', { command: ['npm', 'install', '-D', '@types/node@22'] }),
      output('call_23', 'added 1 package, changed 1 package in 3s'),
    ],
    { expectedHead: head, ts: clock.tick(30), usage: [mini(2, 2650, 0, 96, 64), mini(4, 2810, 2560, 71, 0), mini(6, 3044, 2560, 152, 128), mini(8, 3190, 2816, 88, 0)], turnEnd: true },
  )
  await store.append(
    sessionId,
    { kind: 'run_outcome', status: 'limit_reached', message: 'stopped after 4 steps (maxSteps)', interrupted: false, ts: clock.tick(3) },
    { expectedHead: t.head },
  )
  return sessionId
}

/** Write the demo sessions into an empty store. */
export async function buildDemo(store: Store, now = Date.now()): Promise<DemoResult> {
  const sessions: DemoSession[] = []
  const triage = await triageSession(store, new Clock(now - 26 * 60 * MIN))
  sessions.push({ sessionId: triage, title: 'triage assistant (Anthropic messages, claude-sonnet-4-5), paused' })
  const coding = new Clock(now - 3 * 60 * MIN)
  const { sessionId: fixer, forkPoint } = await codingSession(store, coding)
  sessions.push({ sessionId: fixer, title: 'coding agent fixes a failing test (OpenAI Responses items, gpt-5), 3 turns' })
  const fork = await forkedAttempt(store, coding, forkPoint)
  sessions.push({ sessionId: fork, title: 'fork of the coding session at the failing test output: another approach' })
  const compacted = await compactedTriage(store, new Clock(now - 2 * 60 * MIN), triage)
  sessions.push({ sessionId: compacted, title: 'compaction of the triage session, continued' })
  const upgrade = await upgradeSession(store, new Clock(now - 50 * MIN))
  sessions.push({ sessionId: upgrade, title: 'gpt-5-mini upgrade run that hit its step limit' })
  return { sessions, forkPoint }
}
