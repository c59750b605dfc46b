// verify end to end: a sound store passes, a store with one flipped byte fails with a located
// finding and exit status 1, and so do reads that meet the damage; bundles are checked without
// a store, and a damaged bundle is refused by import.
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { afterAll, describe, expect, it } from 'vitest'
import { chainlog, chainlogJson, removeTempDirs, seeded, tempDir, withDir } from './helpers.js'

afterAll(removeTempDirs)

/**
 * Flip one byte of a stored entry record, straight in LevelDB: the hash index (`H` ‖ hash ->
 * u64 seq ‖ sessionId) says where the record is (`R` ‖ sessionId ‖ 0x00 ‖ u64 seq).
 */
async function flipByte(dir: string, hash: string): Promise<void> {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
  await db.open()
  try {
    const loc = await db.get(new Uint8Array([0x48, ...Buffer.from(hash, 'hex')]))
    if (!loc) throw new Error(`no index row for ${hash}`)
    const key = new Uint8Array([0x52, ...loc.subarray(8), 0, ...loc.subarray(0, 8)])
    const record = await db.get(key)
    if (!record) throw new Error(`no record for ${hash}`)
    const changed = new Uint8Array(record)
    changed[changed.length - 1]! ^= 0x01
    await db.put(key, changed)
  } finally {
    await db.close()
  }
}

describe.concurrent('a sound store', () => {
  it('verifies the whole store, one session, and a session with its lineage', async () => {
    const s = await seeded()
    const store = ['--store', s.dir]
    const all = await chainlogJson(['verify', '--all', ...store])
    const total = await withDir(s.dir, async (st) => (await st.listSessions()).reduce((n, x) => n + x.length, 0))
    expect(all).toMatchObject({ ok: true, findings: [], checked: { sessions: 4, entries: total } })
    expect(await chainlogJson(['verify', ...store])).toMatchObject({ ok: true, checked: { sessions: 4 } })
    expect(await chainlogJson(['verify', s.fork, ...store])).toMatchObject({ ok: true, checked: { sessions: 1 } })
    expect(await chainlogJson(['verify', s.fork, '--lineage', ...store])).toMatchObject({ ok: true, checked: { sessions: 2 } })
    const text = await chainlog(['verify', '--all', ...store])
    expect(text.code).toBe(0)
    expect(text.stdout).toMatch(/^checked 4 sessions, \d+ entries, .+: ok\n$/)
    expect(text.stderr).toBe('')
  })

  it('--trusted-head: a head seen earlier must still be in the chain', async () => {
    const s = await seeded()
    const store = ['--store', s.dir]
    const contained = await chainlogJson(['verify', s.main, '--trusted-head', s.forkPoint, ...store])
    expect(contained.trustedHead).toMatchObject({ hash: s.forkPoint, status: 'contained', sessionId: s.main })
    const r = await chainlog(['verify', '--trusted-head', 'ab'.repeat(32), '--json', ...store])
    expect(r.code).toBe(1)
    expect(JSON.parse(r.stdout).trustedHead.status).toBe('absent')
    expect(r.stderr).toContain('CHAINLOG_VERIFY_FAILED')
  })
})

/** A seeded store with one byte of the fork point's record flipped. */
async function tampered() {
  const s = await seeded()
  await flipByte(s.dir, s.forkPoint)
  return s
}

describe.concurrent('a tampered store', () => {
  it('verify --all exits 1 with a finding that names the session, seq and hash', async () => {
    const s = await tampered()
    const store = ['--store', s.dir]
    const r = await chainlog(['verify', '--all', '--json', ...store])
    expect(r.code).toBe(1)
    const report = JSON.parse(r.stdout)
    expect(report.ok).toBe(false)
    const seq = report.findings.find((f: { hash?: string }) => f.hash === s.forkPoint)?.seq
    expect(report.findings).toContainEqual(expect.objectContaining({ code: 'hash_mismatch', severity: 'error', sessionId: s.main, seq: 3, hash: s.forkPoint }))
    expect(r.stderr).toMatch(/^chainlog: verification failed: \d+ error findings? \(CHAINLOG_VERIFY_FAILED\)\n$/)

    const text = await chainlog(['verify', '--all', ...store])
    expect(text.code).toBe(1)
    expect(text.stdout).toContain(`hash_mismatch (session ${s.main} seq ${seq} entry ${s.forkPoint.slice(0, 12)})`)
    expect((await chainlog(['verify', s.other, ...store])).code).toBe(0) // untouched
    expect((await chainlog(['verify', s.fork, ...store])).code).toBe(0) // its own entries are intact
    expect((await chainlog(['verify', s.fork, '--lineage', ...store])).code).toBe(1)
  })

  it('reads that meet the damaged entry fail with exit 1 instead of showing it', async () => {
    const s = await tampered()
    for (const args of [['show', s.forkPoint], ['log', s.main], ['state', s.fork]]) {
      const r = await chainlog(['--store', s.dir, ...args])
      expect(r.code, args.join(' ')).toBe(1)
      expect(r.stderr).toMatch(/^chainlog: .+ \(CHAINLOG_CORRUPT_STORE\)\n$/)
    }
  })

  it('a damaged bundle fails verify --bundle and import (exit 1), and import writes nothing', async () => {
    const s = await seeded()
    const dir = await tempDir()
    const bundle = join(dir, 'fork.bundle')
    expect((await chainlog(['export', s.fork, '-o', bundle, '--store', s.dir])).code).toBe(0)
    const bytes = await readFile(bundle)
    bytes[bytes.length - 40]! ^= 0x01
    const bad = join(dir, 'bad.bundle')
    await writeFile(bad, bytes)
    const v = await chainlog(['verify', '--bundle', bad, '--json'])
    expect(v.code).toBe(1)
    expect(JSON.parse(v.stdout).ok).toBe(false)
    const target = join(dir, 'target')
    await chainlog(['--store', target, 'init'])
    const imp = await chainlog(['--store', target, 'import', bad])
    expect(imp.code).toBe(1)
    expect(imp.stderr).toMatch(/\(CHAINLOG_INVALID_BUNDLE\)\n$/)
    expect((await chainlogJson(['--store', target, 'ls'])).sessions).toEqual([])
  })
})
