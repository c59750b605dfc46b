// `chainlog copy`: a store directory to PostgreSQL (a throwaway cluster this file starts) and back
// to a new directory, with --json results, the commands reading the copies, refusals with their
// codes and exit statuses (nothing written), and a progress line only on a terminal.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Readable, Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { run } from '../../src/cli/program.js'
import { openStore } from '../../src/open.js'
import type { Store } from '../../src/store.js'
import { startPgCluster, type PgCluster } from '../support/pg-cluster.js'
import { buildWorld, snapshotStore, type StoreSnapshot } from '../support/store-world.js'
import { chainlog, chainlogJson, removeTempDirs, tempDir } from './helpers.js'

let cluster: PgCluster
let source: string
let before: StoreSnapshot
beforeAll(async () => {
  cluster = startPgCluster()
  source = join(await tempDir(), 'store')
  const store = await openStore({ path: source, exclusive: true, durability: 'relaxed' })
  try {
    await buildWorld(store)
    before = await snapshotStore(store)
  } finally {
    await store.close()
  }
})
afterAll(async () => {
  cluster?.destroy()
  await removeTempDirs()
})

/** A postgres:// URL for a schema of the cluster (the CLI uses the default schema, so one database each). */
async function freshDatabase(name: string): Promise<string> {
  const r = await chainlogSql(`CREATE DATABASE ${name}`)
  expect(r).toBe(true)
  return cluster.connectionStringFor(name)
}

async function chainlogSql(sql: string): Promise<boolean> {
  const pg = (await import('pg')).default
  const c = new pg.Client({ connectionString: cluster.connectionString })
  await c.connect()
  try {
    await c.query(sql)
    return true
  } finally {
    await c.end()
  }
}

async function snapshotAt(location: string): Promise<StoreSnapshot> {
  const store = (await openStore(location.startsWith('postgres') ? { postgres: { connectionString: location } } : { path: location, exclusive: true })) as Store
  try {
    return await snapshotStore(store)
  } finally {
    await store.close()
  }
}

describe('chainlog copy', () => {
  it('directory -> PostgreSQL -> directory, --json, and every command reads the copies', async () => {
    const url = await freshDatabase('copy_there')
    const there = await chainlogJson(['--store', source, 'copy', '--to', url])
    expect(there).toMatchObject({ ok: true, from: source, to: url, sessions: before.sessions.length, findings: [] })
    expect(there.digest).toMatch(/^[0-9a-f]{64}$/)
    expect(await snapshotAt(url)).toEqual(before)
    const ls = await chainlogJson<{ sessions: { sessionId: string }[] }>(['ls', '--store', url])
    expect(ls.sessions.map((s) => s.sessionId).sort()).toEqual(before.sessions.map((s) => s.sessionId))
    expect((await chainlog(['verify', '--all', '--store', url])).code).toBe(0)

    const back = join(await tempDir(), 'back')
    const text = await chainlog(['copy', '--from', url, '--to', back])
    expect(text.code, text.stderr).toBe(0)
    expect(text.stdout).toMatch(/^copied 6 sessions, \d+ entries and \d+ blobs \(\d+ rows, [\d.]+ \w+\) from postgresql:\/\/.* to .*back\nread back \(sha256 [0-9a-f]{16}…\) and verified: ok\n$/)
    expect(text.stdout).toContain(there.digest.slice(0, 16))
    expect(text.stderr).toBe('') // no progress line in a pipe
    expect(await snapshotAt(back)).toEqual(before)
    const log = await chainlog(['log', 'fork-fa', '--store', back])
    expect(log.code, log.stderr).toBe(0)
  })

  it('refuses a non-empty target (exit 2), a missing source (exit 4), a bad location (exit 2), writing nothing', async () => {
    const base = await tempDir()
    const full = await chainlog(['copy', '--from', source, '--to', source + '-other', '--json'])
    expect(full.code).toBe(0) // a first copy makes a non-empty target
    const again = await chainlog(['copy', '--from', source, '--to', source + '-other', '--json'])
    expect(again.code).toBe(2)
    expect(JSON.parse(again.stdout)).toMatchObject({ ok: false, error: { code: 'CHAINLOG_STORE_NOT_EMPTY', data: { found: 'sessions' } } })
    expect(again.stderr).toMatch(/is not empty .*\(CHAINLOG_STORE_NOT_EMPTY\)\n$/)

    const missing = await chainlog(['copy', '--from', join(base, 'nope'), '--to', join(base, 'target')])
    expect(missing.code).toBe(4)
    expect(missing.stderr).toMatch(/\(CHAINLOG_STORE_NOT_FOUND\)\n$/)
    expect(existsSync(join(base, 'target'))).toBe(false)
    expect(existsSync(join(base, 'nope'))).toBe(false)

    const scheme = await chainlog(['copy', '--from', source, '--to', 'mysql://root:secret@db/x'])
    expect(scheme.code).toBe(2)
    expect(scheme.stderr).toMatch(/\(CHAINLOG_INVALID_ARGUMENT\)\n$/)
    expect(scheme.stderr).not.toContain('secret')
    const empty = await chainlog(['copy', '--from', source, '--to', ''])
    expect(empty.code).toBe(2)
    expect(empty.stderr).toMatch(/\(CHAINLOG_USAGE\)\n$/)
    const noTo = await chainlog(['copy', '--from', source])
    expect(noTo.code).toBe(2)
    const down = await chainlog(['copy', '--from', source, '--to', `postgresql://chainlog:secret@/x?host=${encodeURIComponent(join(base, 'no-server'))}`])
    expect(down.code).toBe(5)
    expect(down.stderr).toMatch(/\(CHAINLOG_STORE_UNAVAILABLE\)\n$/)
    expect(down.stderr).not.toContain('secret')
  })

  it('export from a directory and import into PostgreSQL move sessions with the same hashes', async () => {
    const url = await freshDatabase('bundles_there')
    const dir = await tempDir()
    for (const id of before.sessions.map((s) => s.sessionId)) {
      const file = join(dir, `${id}.bundle`)
      const out = await chainlog(['--store', source, 'export', id, '-o', file])
      expect(out.code, out.stderr).toBe(0)
      const into = await chainlog(['--store', url, 'import', file])
      expect(into.code, into.stderr).toBe(0)
    }
    expect((await chainlog(['--store', url, 'verify', '--all'])).code).toBe(0)
    expect(await snapshotAt(url)).toEqual(before)
  })

  it('draws progress on stderr only on a terminal', async () => {
    class Capture extends Writable {
      text = ''
      constructor(readonly isTTY: boolean) {
        super()
      }
      override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
        this.text += chunk.toString('utf8')
        cb()
      }
    }
    const stdout = new Capture(false)
    const stderr = new Capture(true)
    const to = join(await tempDir(), 'tty')
    const code = await run(['copy', '--from', source, '--to', to, '--chunk', '8'], { stdout, stderr, stdin: Readable.from([]), env: {} })
    expect(code, stderr.text).toBe(0)
    expect(stderr.text).toContain('copying rows: ')
    expect(stderr.text).toMatch(/verifying the copy \[#*\.*\] \d+%/)
    expect(stdout.text).toMatch(/verified: ok\n$/)
  })
})
