// parseTurnEntry (the zod-free check of the entries of every turn) against the Entry schema:
// whatever it accepts, zod accepts, and it returns what zod returns (same fields, same key
// order, a new object and items array); what zod refuses, it refuses. Inputs are generated
// around the edges of the five schemas: wrong and -0 timestamps, missing, extra and undefined
// fields, empty, sparse and undefined-holding item lists, other kinds, odd prototypes.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Entry, parseCustomEntry, parseTurnEntry } from '../../src/schema/entry.js'
import { encodeEntry } from '../../src/encoding/entry-codec.js'

const KINDS = ['user_input', 'assistant_items', 'tool_results', 'hook_injected_items', 'turn_end', 'run_outcome', 'llm_usage', 'nope']
const number = fc.oneof(fc.nat(), fc.constantFrom(0, -0, -1, 1.5, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1, NaN, Infinity), fc.double())
const item = fc.oneof(fc.jsonValue(), fc.constant(undefined), fc.constant(null), fc.uint8Array({ maxLength: 4 }))
const itemList = fc.oneof(
  fc.array(item, { maxLength: 4 }),
  fc.constant([]),
  fc.constant([1, , 2]),
  fc.string(),
  fc.constant(undefined),
)
const field = fc.oneof(number, item, itemList, fc.string())

/** An envelope-like object: some of kind/ts/item/items/turn (well-typed or not), maybe an extra key, keys in random order. */
const candidate = fc
  .record(
    {
      kind: fc.constantFrom(...KINDS),
      ts: number,
      item,
      items: itemList,
      turn: number,
      extra: field,
    },
    { requiredKeys: [] },
  )
  .chain((o) => fc.shuffledSubarray(Object.keys(o), { minLength: Object.keys(o).length }).map((order) => Object.fromEntries(order.map((k) => [k, (o as Record<string, unknown>)[k]]))))

/** The same, biased to the five kinds with exactly their fields, so most are valid. */
const likely = fc.oneof(
  fc.record({ kind: fc.constant('user_input'), ts: fc.nat(), item: fc.jsonValue() }),
  fc.record({ kind: fc.constantFrom('assistant_items', 'tool_results', 'hook_injected_items'), ts: fc.nat(), items: fc.array(fc.jsonValue(), { minLength: 1, maxLength: 3 }) }),
  fc.record({ items: fc.array(fc.jsonValue(), { minLength: 1, maxLength: 3 }), ts: fc.nat(), kind: fc.constant('tool_results') }),
  fc.record({ turn: fc.nat(), kind: fc.constant('turn_end'), ts: fc.nat() }),
)

function agrees(input: unknown): boolean {
  const fast = parseTurnEntry(input)
  const zod = Entry.safeParse(input)
  if (fast === undefined) {
    // Refusing is always allowed (zod then decides); refusing a valid turn entry of plain shape is checked below.
    return true
  }
  expect(zod.success).toBe(true)
  expect(fast).toEqual(zod.data)
  expect(Object.keys(fast)).toEqual(Object.keys(zod.data!))
  expect(fast).not.toBe(input)
  if ('items' in fast) expect(fast.items).not.toBe((input as { items: unknown }).items)
  return true
}

describe('parseTurnEntry', () => {
  it('accepts only what Entry accepts, and returns what Entry.parse returns (fields, key order, copies)', () => {
    fc.assert(fc.property(candidate, agrees), { numRuns: 3000 })
    fc.assert(fc.property(likely, agrees), { numRuns: 1000 })
  })

  it('takes every valid entry of the five kinds in plain form (so appends skip zod), whatever its key order', () => {
    fc.assert(
      fc.property(likely, (e) => {
        expect(parseTurnEntry(e)).toBeDefined()
      }),
      { numRuns: 500 },
    )
  })

  it('leaves edge cases to zod, with the same encoded bytes either way', () => {
    const edge: unknown[] = [
      { kind: 'user_input', ts: -0, item: 1 },
      { kind: 'user_input', ts: 1, item: undefined },
      { kind: 'user_input', ts: 1, item: 1, extra: undefined },
      { kind: 'tool_results', ts: 1, items: [] },
      { kind: 'tool_results', ts: 1, items: [1, , 2] },
      { kind: 'turn_end', ts: 1, turn: 1.5 },
      Object.assign(Object.create({ inherited: 1 }), { kind: 'turn_end', ts: 1, turn: 1 }),
      new (class X {
        kind = 'turn_end'
        ts = 1
        turn = 2
      })(),
    ]
    for (const e of edge) {
      expect(parseTurnEntry(e)).toBeUndefined()
      const zod = Entry.safeParse(e)
      if (zod.success) expect(encodeEntry(e)).toEqual(encodeEntry({ ...zod.data }))
    }
    expect(parseTurnEntry(Object.assign(Object.create(null), { kind: 'turn_end', ts: 1, turn: 2 }))).toEqual({ kind: 'turn_end', ts: 1, turn: 2 })
  })
})

/** Custom-entry-like objects: some of kind/ts/namespace/type/data (well-formed or not), maybe an extra key, keys in random order. */
const customCandidate = fc
  .record(
    {
      kind: fc.constantFrom('custom', 'custom', 'user_input'),
      ts: number,
      namespace: fc.oneof(fc.constantFrom('chainlog.langgraph', 'a', 'a-b_c.d', 'A.b', 'a..b', '.a', 'a.', ''), fc.string()),
      type: fc.oneof(fc.constantFrom('checkpoint', '', 'x'.repeat(200), 'x'.repeat(201)), fc.string(), number),
      data: item,
      extra: field,
    },
    { requiredKeys: [] },
  )
  .chain((o) => fc.shuffledSubarray(Object.keys(o), { minLength: Object.keys(o).length }).map((order) => Object.fromEntries(order.map((k) => [k, (o as Record<string, unknown>)[k]]))))

const likelyCustom = fc.oneof(
  fc.record({ kind: fc.constant('custom'), ts: fc.nat(), namespace: fc.constantFrom('chainlog.langgraph', 'com.example'), type: fc.string({ minLength: 1, maxLength: 20 }), data: fc.jsonValue() }),
  fc.record({ data: fc.jsonValue(), type: fc.constant('writes'), namespace: fc.constant('x'), ts: fc.nat(), kind: fc.constant('custom') }),
  fc.record({ kind: fc.constant('custom'), ts: fc.nat(), namespace: fc.constant('x'), type: fc.constant('t') }),
)

function customAgrees(input: unknown): boolean {
  const fast = parseCustomEntry(input)
  if (fast === undefined) return true
  const zod = Entry.safeParse(input)
  expect(zod.success).toBe(true)
  expect(fast).toEqual(zod.data)
  expect(Object.keys(fast)).toEqual(Object.keys(zod.data!))
  expect(fast).not.toBe(input)
  return true
}

describe('parseCustomEntry', () => {
  it('accepts only what Entry accepts, and returns what Entry.parse returns (fields, key order, a copy)', () => {
    fc.assert(fc.property(customCandidate, customAgrees), { numRuns: 3000 })
    fc.assert(fc.property(likelyCustom, customAgrees), { numRuns: 1000 })
  })

  it('takes every valid custom entry in plain form, whatever its key order, and leaves edge cases to zod with the same bytes', () => {
    fc.assert(
      fc.property(likelyCustom, (e) => {
        expect(parseCustomEntry(e)).toBeDefined()
      }),
      { numRuns: 500 },
    )
    const edge: unknown[] = [
      { kind: 'custom', ts: 1, namespace: 'x', type: 't', data: undefined },
      { kind: 'custom', ts: -0, namespace: 'x', type: 't', data: 1 },
      { kind: 'custom', ts: 1, namespace: 'x', type: 't', data: 1, extra: undefined },
      { kind: 'custom', ts: 1, namespace: 'x', type: 'x'.repeat(201) },
      { kind: 'custom', ts: 1, namespace: 'x', type: '' },
      { kind: 'custom', ts: 1, namespace: 'A.b', type: 't' },
      { kind: 'custom', ts: 1, namespace: 'a..b', type: 't' },
      Object.assign(Object.create({ inherited: 1 }), { kind: 'custom', ts: 1, namespace: 'x', type: 't' }),
    ]
    for (const e of edge) {
      expect(parseCustomEntry(e)).toBeUndefined()
      const zod = Entry.safeParse(e)
      if (zod.success) expect(encodeEntry(e)).toEqual(encodeEntry({ ...zod.data }))
    }
  })
})
