// The request of the PostgreSQL commit function (pg-commit.ts), without a server: how a group's
// commits are laid out, and where a segment (commits checked together) must end.
import { describe, expect, it } from 'vitest'
import { PRESENT, PreconditionFailed, type Commit } from '../../src/storage/engine.js'
import { encodeGroup, parseOutcome } from '../../src/storage/pg-commit.js'

const k = (s: string) => new TextEncoder().encode(s)
const put = (key: string, value: string) => ({ type: 'put' as const, key: k(key), value: k(value) })

describe('encodeGroup', () => {
  it('commits on different keys share one segment; one that reads or writes an earlier write starts a new one', () => {
    const group: Commit[] = [
      { ops: [put('a/head', '1'), put('a/rec', 'x')], expect: [{ key: k('a/head'), value: k('0') }] },
      { ops: [put('b/head', '1')], expect: [{ key: k('b/head'), value: undefined }, { key: k('blob'), value: PRESENT }] },
      // expects a row the first commit writes: must see that write, so checked after it
      { ops: [put('c', '1')], expect: [{ key: k('a/head'), value: k('1') }] },
      // writes a row the third writes: a segment of its own (the last write wins)
      { ops: [put('c', '2')] },
    ]
    const r = encodeGroup(group)
    expect(r.segs).toEqual([6, 2, 1])
    expect(r.kinds).toEqual([1, 3, 3, 0, 2, 3, 1, 3, 3])
    expect(r.cs).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 3])
    expect(r.xs).toEqual([0, -1, -1, 0, 1, -1, 0, -1, -1])
    expect(r.vlens).toEqual([1, 1, 1, -1, -1, 1, 1, 1, 1])
    expect(r.data.toString('latin1')).toBe('a/head0a/head1a/recxb/headblobb/head1a/head1c1c2')
    expect(r.bytes).toBe(13 + 7 + 2 + 2)
  })

  it('a commit that puts and deletes one key sends only its last op', () => {
    const r = encodeGroup([{ ops: [put('x', '1'), { type: 'del', key: k('x') }, put('y', '1'), put('y', '2')] }])
    expect(r.kinds).toEqual([4, 3])
    expect(r.data.toString('latin1')).toBe('xy2')
    expect(r.segs).toEqual([2])
  })
})

describe('parseOutcome', () => {
  it('reads the transaction id and each refused commit with its precondition and the row it found', () => {
    const group: Commit[] = [
      { ops: [], expect: [{ key: k('h'), value: k('0') }] },
      { ops: [], expect: [{ key: k('p'), value: PRESENT }, { key: k('q'), value: undefined }] },
      { ops: [] },
    ]
    const { xid, refusals } = parseOutcome(`123 0:0:${Buffer.from('7').toString('hex')};1:1:;`, group)
    expect(xid).toBe('123')
    expect([...refusals.keys()]).toEqual([0, 1])
    const r0 = refusals.get(0)!
    expect(r0).toBeInstanceOf(PreconditionFailed)
    expect([r0.index, new TextDecoder().decode(r0.key), new TextDecoder().decode(r0.actual)]).toEqual([0, 'h', '7'])
    expect([refusals.get(1)!.index, refusals.get(1)!.actual?.length]).toEqual([1, 0])
    expect(parseOutcome('- 0:0:-;', group)).toMatchObject({ xid: undefined })
    expect(parseOutcome('- 0:0:-;', group).refusals.get(0)!.actual).toBeUndefined()
  })
})
