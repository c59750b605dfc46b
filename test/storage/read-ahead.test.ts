// The read-ahead pipeline behind entries(), restore and verify: chunks come back in order, reads
// never overlap (an iterator allows one nextv at a time), `depth` chunks are prepared while the
// caller works, errors reach the caller, and settle() waits for what is in flight.
import { describe, expect, it } from 'vitest'
import { ReadAhead } from '../../src/storage/read-ahead.js'

/** A source of `n` chunks whose reads and preparations resolve when the test says so. */
function source(n: number) {
  const log: string[] = []
  let reading = 0
  let maxReading = 0
  let next = 0
  const pendingPrepare: (() => void)[] = []
  const read = async (): Promise<number | undefined> => {
    reading++
    maxReading = Math.max(maxReading, reading)
    log.push(`read ${next}`)
    await new Promise((r) => setTimeout(r, 1))
    reading--
    return next < n ? next++ : undefined
  }
  const prepare = (k: number) =>
    new Promise<string>((resolve) => {
      log.push(`prepare ${k}`)
      pendingPrepare.push(() => resolve(`chunk ${k}`))
    })
  const releaseAll = () => {
    for (const f of pendingPrepare.splice(0)) f()
  }
  return { read, prepare, log, releaseAll, maxReading: () => maxReading }
}

const tick = () => new Promise((r) => setTimeout(r, 5))

describe('ReadAhead', () => {
  it('returns the chunks in order, then undefined', async () => {
    const s = source(5)
    const ra = new ReadAhead(s.read, async (k: number) => `chunk ${k}`, 2)
    const got: (string | undefined)[] = []
    for (;;) {
      const c = await ra.next()
      got.push(c)
      if (c === undefined) break
    }
    expect(got).toEqual(['chunk 0', 'chunk 1', 'chunk 2', 'chunk 3', 'chunk 4', undefined])
    expect(await ra.next()).toBeUndefined()
    expect(s.maxReading()).toBe(1)
  })

  it('prepares `depth` chunks before the caller asks, and one more per chunk taken', async () => {
    const s = source(10)
    const ra = new ReadAhead(s.read, s.prepare, 3)
    await tick()
    await tick()
    // Three reads done and three preparations started, nothing taken yet.
    expect(s.log.filter((l) => l.startsWith('prepare'))).toEqual(['prepare 0', 'prepare 1', 'prepare 2'])
    s.releaseAll()
    expect(await ra.next()).toBe('chunk 0')
    await tick()
    expect(s.log.filter((l) => l.startsWith('prepare'))).toEqual(['prepare 0', 'prepare 1', 'prepare 2', 'prepare 3'])
    s.releaseAll()
    await ra.settle()
  })

  it('passes a failed read or preparation to the caller at that chunk', async () => {
    let k = 0
    const ra = new ReadAhead(
      async () => k++,
      async (x: number) => {
        if (x === 1) throw new Error('chunk 1 is damaged')
        return x
      },
      2,
    )
    expect(await ra.next()).toBe(0)
    await expect(ra.next()).rejects.toThrow('chunk 1 is damaged')
    await ra.settle()
  })

  it('settle() waits for reads in flight and starts no new ones', async () => {
    const s = source(100)
    const ra = new ReadAhead(s.read, async (k: number) => k, 2)
    expect(await ra.next()).toBe(0)
    await ra.settle()
    const reads = s.log.length
    await tick()
    expect(s.log.length).toBe(reads)
    expect(reads).toBeLessThanOrEqual(3)
  })
})
