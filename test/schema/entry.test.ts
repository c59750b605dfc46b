// Entry schemas: every kind validates, bad input gets a stable code and a path, caller data
// inside items is kept verbatim, and `undefined` optional envelope fields mean "absent".
import { deepStrictEqual } from 'node:assert/strict'
import { describe, expect, it } from 'vitest'
import { decodeCanonical } from '../../src/encoding/cbor.js'
import { encodeEntry, openRecord, sealEntry, validateEntry } from '../../src/encoding/entry-codec.js'
import { ZERO_HASH } from '../../src/encoding/hash.js'
import { ErrorCodes } from '../../src/errors.js'
import { ENTRY_KINDS, Entry, type EntryKind } from '../../src/schema/entry.js'
import { catchError } from '../support/errors.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const H1 = 'a1'.repeat(32)
const TS = 1_700_000_000_000
const usage = {
  historyLength: 3,
  model: 'gpt-test',
  inputTokens: 1200,
  cacheReadTokens: 1000,
  cacheWriteTokens: 0,
  outputTokens: 80,
  reasoningTokens: 16,
}

/** One valid example (or several) of every entry kind. */
const VALID: [string, EntryKind, Record<string, unknown>][] = [
  ['a new session', 'session_start', { kind: 'session_start', ts: TS, sessionId: 's1', systemPrompt: 'be brief', config: { model: 'm' }, history: [] }],
  ['a fork', 'session_start', { kind: 'session_start', ts: TS, sessionId: 's2', config: {}, history: [], forkedFrom: { sessionId: 's1', atHash: H1 } }],
  [
    'a materialised fork',
    'session_start',
    {
      kind: 'session_start',
      ts: TS,
      sessionId: 's3',
      config: { model: 'm' },
      history: [{ role: 'user', content: 'hi' }],
      forkedFrom: { sessionId: 's1', atHash: H1 },
      snapshot: { turnCount: 2, cacheLockedPrefix: 1, lastOutcome: { status: 'paused', interrupted: true }, usage: [usage] },
    },
  ],
  [
    'a compaction',
    'session_start',
    {
      kind: 'session_start',
      ts: TS,
      sessionId: 's4',
      config: { model: 'm' },
      history: [{ role: 'user', content: 'summary' }],
      compactedFrom: { sessionId: 's1', atHash: H1 },
      compaction: { summariser: 'm', covered: [0, 41] },
    },
  ],
  ['user input', 'user_input', { kind: 'user_input', ts: TS, item: { role: 'user', content: 'hello' } }],
  ['assistant items', 'assistant_items', { kind: 'assistant_items', ts: TS, items: [{ type: 'message', role: 'assistant', content: [] }] }],
  ['tool results', 'tool_results', { kind: 'tool_results', ts: TS, items: [{ type: 'function_call_output', call_id: 'c1', output: 'ok' }] }],
  ['hook-injected items', 'hook_injected_items', { kind: 'hook_injected_items', ts: TS, items: [{ role: 'system', content: 'note' }] }],
  ['a turn end', 'turn_end', { kind: 'turn_end', ts: TS, turn: 1 }],
  ['a finished outcome', 'run_outcome', { kind: 'run_outcome', ts: TS, status: 'finished', interrupted: false }],
  ['an error outcome', 'run_outcome', { kind: 'run_outcome', ts: TS, status: 'error', message: 'boom', interrupted: true }],
  ['llm usage', 'llm_usage', { kind: 'llm_usage', ts: TS, ...usage }],
  ['a cache lock', 'cache_locked', { kind: 'cache_locked', ts: TS, prefixLength: 4 }],
  ['a cache unlock', 'cache_unlocked', { kind: 'cache_unlocked', ts: TS }],
  ['a config change', 'config_changed', { kind: 'config_changed', ts: TS, config: { model: 'm2', tools: [] } }],
  ['a custom entry', 'custom', { kind: 'custom', ts: TS, namespace: 'com.example.agent', type: 'checkpoint', data: { n: 1 } }],
  ['a custom entry without data', 'custom', { kind: 'custom', ts: TS, namespace: 'dev.x-y_z', type: 't' }],
]

describe('valid entries', () => {
  it('the examples cover every entry kind', () => {
    expect(new Set(VALID.map(([, k]) => k))).toEqual(new Set(ENTRY_KINDS))
    expect(ENTRY_KINDS.length).toBe(12)
  })

  it.each(VALID)('%s validates, encodes and opens back to the same entry', (_name, kind, entry) => {
    const valid = validateEntry(entry)
    expect(valid.kind).toBe(kind)
    deepStrictEqual(valid, entry)
    const bytes = encodeEntry(entry)
    expect(hex(bytes.subarray(0, 2))).toBe('8202')
    deepStrictEqual(decodeCanonical(bytes.subarray(2)), entry)
    const { record } = sealEntry(ZERO_HASH, entry)
    const opened = openRecord(record)
    expect(hex(opened.entryBytes)).toBe(hex(bytes))
    deepStrictEqual(opened.entry, entry)
  })

  it('validateEntry leaves the caller’s object untouched', () => {
    const lastOutcome = { status: 'paused', message: undefined, interrupted: false }
    const snapshot = { turnCount: 1, cacheLockedPrefix: undefined, lastOutcome, usage: [] }
    const forkedFrom = { sessionId: 'a', atHash: H1 }
    const input = { kind: 'session_start', ts: TS, sessionId: 's', systemPrompt: undefined, config: {}, history: [], forkedFrom, snapshot }
    const before = { input: Object.keys(input), snapshot: Object.keys(snapshot), lastOutcome: Object.keys(lastOutcome) }
    const valid = validateEntry(input)
    expect(valid).not.toBe(input)
    expect({ input: Object.keys(input), snapshot: Object.keys(snapshot), lastOutcome: Object.keys(lastOutcome) }).toEqual(before)
    expect(input.snapshot).toBe(snapshot)
    expect(snapshot.lastOutcome).toBe(lastOutcome)
  })
})

describe('bad entries', () => {
  const base = { kind: 'session_start', ts: TS, sessionId: 's', config: {}, history: [] }
  const cases: [string, unknown, string, string][] = [
    ['not an object', 5, ErrorCodes.INVALID_ENTRY, '(root)'],
    ['null', null, ErrorCodes.INVALID_ENTRY, '(root)'],
    ['no kind', { ts: TS }, ErrorCodes.INVALID_ENTRY, 'kind'],
    ['an unknown kind', { kind: 'session_end', ts: TS }, ErrorCodes.INVALID_ENTRY, 'kind'],
    ['a missing ts', { kind: 'user_input', item: 1 }, ErrorCodes.INVALID_ENTRY, 'ts'],
    ['a float ts', { kind: 'user_input', ts: 1.5, item: 1 }, ErrorCodes.INVALID_ENTRY, 'ts'],
    ['a negative ts', { kind: 'cache_unlocked', ts: -1 }, ErrorCodes.INVALID_ENTRY, 'ts'],
    ['a string ts', { kind: 'cache_unlocked', ts: '1' }, ErrorCodes.INVALID_ENTRY, 'ts'],
    ['a bigint ts', { kind: 'cache_unlocked', ts: 1n }, ErrorCodes.INVALID_ENTRY, 'ts'],
    ['a missing item', { kind: 'user_input', ts: TS }, ErrorCodes.INVALID_ENTRY, 'item'],
    ['an empty items array', { kind: 'assistant_items', ts: TS, items: [] }, ErrorCodes.INVALID_ENTRY, 'items'],
    ['items that are not an array', { kind: 'tool_results', ts: TS, items: { a: 1 } }, ErrorCodes.INVALID_ENTRY, 'items'],
    ['an undefined history item', { ...base, history: [1, undefined] }, ErrorCodes.INVALID_ENTRY, 'history[1]'],
    ['a missing sessionId', { kind: 'session_start', ts: TS, config: {}, history: [] }, ErrorCodes.INVALID_ENTRY, 'sessionId'],
    ['a sessionId with a space', { ...base, sessionId: 'a b' }, ErrorCodes.INVALID_ENTRY, 'sessionId'],
    ['an empty sessionId', { ...base, sessionId: '' }, ErrorCodes.INVALID_ENTRY, 'sessionId'],
    ['a config that is an array', { kind: 'config_changed', ts: TS, config: [] }, ErrorCodes.INVALID_ENTRY, 'config'],
    ['a missing config', { kind: 'session_start', ts: TS, sessionId: 's', history: [] }, ErrorCodes.INVALID_ENTRY, 'config'],
    ['a systemPrompt that is not a string', { ...base, systemPrompt: 1 }, ErrorCodes.INVALID_ENTRY, 'systemPrompt'],
    ['an unknown top-level key (rejected, not stripped)', { kind: 'turn_end', ts: TS, turn: 1, extra: true }, ErrorCodes.INVALID_ENTRY, '(root)'],
    ['an unknown key in forkedFrom', { ...base, forkedFrom: { sessionId: 'a', atHash: H1, x: 1 } }, ErrorCodes.INVALID_ENTRY, 'forkedFrom'],
    ['an error outcome without a message', { kind: 'run_outcome', ts: TS, status: 'error', interrupted: false }, ErrorCodes.INVALID_ENTRY, 'message'],
    ['an unknown run status', { kind: 'run_outcome', ts: TS, status: 'done', interrupted: false }, ErrorCodes.INVALID_ENTRY, 'status'],
    ['a missing interrupted flag', { kind: 'run_outcome', ts: TS, status: 'finished' }, ErrorCodes.INVALID_ENTRY, 'interrupted'],
    [
      'both forkedFrom and compactedFrom',
      { ...base, forkedFrom: { sessionId: 'a', atHash: H1 }, compactedFrom: { sessionId: 'a', atHash: H1 } },
      ErrorCodes.INVALID_ENTRY,
      'compactedFrom',
    ],
    ['an uppercase hash', { ...base, forkedFrom: { sessionId: 'a', atHash: 'A1'.repeat(32) } }, ErrorCodes.INVALID_ENTRY, 'forkedFrom.atHash'],
    ['a short hash', { ...base, compactedFrom: { sessionId: 'a', atHash: 'a1'.repeat(31) } }, ErrorCodes.INVALID_ENTRY, 'compactedFrom.atHash'],
    ['a snapshot without forkedFrom', { ...base, snapshot: { turnCount: 0, usage: [] } }, ErrorCodes.INVALID_ENTRY, 'snapshot'],
    ['compaction details without compactedFrom', { ...base, compaction: { by: 'm' } }, ErrorCodes.INVALID_ENTRY, 'compaction'],
    ['a plain fork that carries history', { ...base, history: [1], forkedFrom: { sessionId: 'a', atHash: H1 } }, ErrorCodes.INVALID_ENTRY, 'history'],
    [
      'a snapshot usage record with a missing field',
      { ...base, forkedFrom: { sessionId: 'a', atHash: H1 }, snapshot: { turnCount: 0, usage: [{ model: 'm' }] } },
      ErrorCodes.INVALID_ENTRY,
      'snapshot.usage[0].historyLength',
    ],
    ['llm usage with a float token count', { kind: 'llm_usage', ts: TS, ...usage, outputTokens: 1.5 }, ErrorCodes.INVALID_ENTRY, 'outputTokens'],
    ['llm usage with an empty model', { kind: 'llm_usage', ts: TS, ...usage, model: '' }, ErrorCodes.INVALID_ENTRY, 'model'],
    ['a negative turn', { kind: 'turn_end', ts: TS, turn: -1 }, ErrorCodes.INVALID_ENTRY, 'turn'],
    ['a custom namespace with capitals', { kind: 'custom', ts: TS, namespace: 'Com.X', type: 't' }, ErrorCodes.INVALID_ENTRY, 'namespace'],
    ['a custom entry without type', { kind: 'custom', ts: TS, namespace: 'com.x' }, ErrorCodes.INVALID_ENTRY, 'type'],
    ['NaN inside an item', { kind: 'user_input', ts: TS, item: { parts: [1, NaN] } }, ErrorCodes.UNENCODABLE_VALUE, 'item.parts[1]'],
    ['undefined inside an item (items are not cleaned)', { kind: 'user_input', ts: TS, item: { a: undefined } }, ErrorCodes.UNENCODABLE_VALUE, 'item.a'],
    ['a function in a config', { kind: 'config_changed', ts: TS, config: { f: () => 1 } }, ErrorCodes.UNENCODABLE_VALUE, 'config.f'],
    ['a Date in custom data', { kind: 'custom', ts: TS, namespace: 'a', type: 't', data: [new Date(0)] }, ErrorCodes.UNENCODABLE_VALUE, 'data[0]'],
  ]

  it.each(cases)('rejects %s', (_name, input, code, path) => {
    const err = catchError(() => sealEntry(ZERO_HASH, input))
    expect(err.code).toBe(code)
    expect(err.data.path).toBe(path)
    if (code === ErrorCodes.INVALID_ENTRY) {
      expect(Array.isArray(err.data.issues)).toBe(true)
      expect(catchError(() => validateEntry(input)).code).toBe(code)
    }
  })

  it('names an unknown top-level key in the message', () => {
    expect(catchError(() => validateEntry({ kind: 'turn_end', ts: TS, turn: 1, extra: true })).message).toContain('extra')
  })

  it('the zod schema alone also rejects unknown top-level keys instead of stripping them', () => {
    expect(Entry.safeParse({ kind: 'cache_unlocked', ts: TS, sneaky: 1 }).success).toBe(false)
  })
})

describe('lengths count Unicode code points (docs/format.md, section 2.3)', () => {
  it('a custom type of 200 emoji (400 UTF-16 code units) is valid; 201 is not, nor 201 "é"', () => {
    const custom = (type: string) => ({ kind: 'custom', ts: TS, namespace: 'com.x', type })
    expect(validateEntry(custom('😀'.repeat(200))).kind).toBe('custom')
    expect(catchError(() => validateEntry(custom('😀'.repeat(201)))).code).toBe(ErrorCodes.INVALID_ENTRY)
    expect(catchError(() => validateEntry(custom('é'.repeat(201)))).code).toBe(ErrorCodes.INVALID_ENTRY)
    expect(validateEntry(custom('é'.repeat(200))).kind).toBe('custom')
  })
})

describe('caller data is kept verbatim', () => {
  it('unknown fields inside items, configs, history and custom data survive encode/decode', () => {
    const item = {
      type: 'message',
      role: 'assistant',
      content: [{ type: 'output_text', text: 'hi', annotations: [], 'x-vendor': { deep: [1, 2.5, null, true] } }],
      status: 'completed',
      _private: new Uint8Array([1, 2, 3]),
      unknown_future_field: { huge: 2n ** 60n },
    }
    const entries = [
      { kind: 'assistant_items', ts: TS, items: [item, { role: 'x', weird: 'y' }] },
      { kind: 'user_input', ts: TS, item },
      { kind: 'session_start', ts: TS, sessionId: 's', config: { model: 'm', vendorOpts: { z: 1, a: [] } }, history: [item] },
      { kind: 'custom', ts: TS, namespace: 'com.x', type: 't', data: { anything: item } },
    ]
    for (const e of entries) {
      const { entry } = openRecord(sealEntry(ZERO_HASH, e).record)
      deepStrictEqual(JSON.parse(JSON.stringify(entry, replacer)), JSON.parse(JSON.stringify(e, replacer)))
    }
  })

  it('items are not reshaped or stripped by validation', () => {
    const item = { role: 'user', content: 'x', extra: { a: 1 } }
    const valid = validateEntry({ kind: 'user_input', ts: TS, item })
    expect(valid.kind === 'user_input' && valid.item).toBe(item)
  })
})

describe('undefined optional envelope fields are treated as absent', () => {
  const pairs: [string, Record<string, unknown>, Record<string, unknown>][] = [
    [
      'session_start optionals',
      {
        kind: 'session_start',
        ts: TS,
        sessionId: 's',
        systemPrompt: undefined,
        config: {},
        history: [],
        forkedFrom: undefined,
        compactedFrom: undefined,
        compaction: undefined,
        snapshot: undefined,
      },
      { kind: 'session_start', ts: TS, sessionId: 's', config: {}, history: [] },
    ],
    [
      'snapshot optionals',
      {
        kind: 'session_start',
        ts: TS,
        sessionId: 's',
        config: {},
        history: [],
        forkedFrom: { sessionId: 'a', atHash: H1 },
        snapshot: { turnCount: 1, cacheLockedPrefix: undefined, lastOutcome: { status: 'finished', message: undefined, interrupted: false }, usage: [] },
      },
      {
        kind: 'session_start',
        ts: TS,
        sessionId: 's',
        config: {},
        history: [],
        forkedFrom: { sessionId: 'a', atHash: H1 },
        snapshot: { turnCount: 1, lastOutcome: { status: 'finished', interrupted: false }, usage: [] },
      },
    ],
    [
      'snapshot without lastOutcome',
      {
        kind: 'session_start',
        ts: TS,
        sessionId: 's',
        config: {},
        history: [],
        forkedFrom: { sessionId: 'a', atHash: H1 },
        snapshot: { turnCount: 1, lastOutcome: undefined, usage: [] },
      },
      { kind: 'session_start', ts: TS, sessionId: 's', config: {}, history: [], forkedFrom: { sessionId: 'a', atHash: H1 }, snapshot: { turnCount: 1, usage: [] } },
    ],
    [
      'run_outcome message',
      { kind: 'run_outcome', ts: TS, status: 'paused', message: undefined, interrupted: false },
      { kind: 'run_outcome', ts: TS, status: 'paused', interrupted: false },
    ],
    ['custom data', { kind: 'custom', ts: TS, namespace: 'a.b', type: 't', data: undefined }, { kind: 'custom', ts: TS, namespace: 'a.b', type: 't' }],
  ]

  it.each(pairs)('%s: same bytes as omitted', (_name, withUndefined, omitted) => {
    expect(hex(encodeEntry(withUndefined))).toBe(hex(encodeEntry(omitted)))
    expect(hex(sealEntry(ZERO_HASH, withUndefined).hash)).toBe(hex(sealEntry(ZERO_HASH, omitted).hash))
    expect(Object.values(validateEntry(withUndefined)).includes(undefined)).toBe(false)
  })
})

// JSON with byte strings and bigints spelled out, for comparing decoded values structurally.
function replacer(_k: string, v: unknown): unknown {
  if (typeof v === 'bigint') return { $bigint: v.toString() }
  if (v instanceof Uint8Array) return { $bytes: Buffer.from(v).toString('hex') }
  if (v !== null && typeof v === 'object' && 'type' in v && (v as { type?: unknown }).type === 'Buffer' && 'data' in v) {
    return { $bytes: Buffer.from((v as { data: number[] }).data).toString('hex') }
  }
  return v
}
