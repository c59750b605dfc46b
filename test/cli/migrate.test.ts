// A store written in store format 1 (the fixture kept in fixtures/stores/v1) opened by a command:
// the command migrates it to format 2 on the way in, and then does its work on the migrated store.
import { cp } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ROOT, chainlog, chainlogJson, removeTempDirs, tempDir } from './helpers.js'

afterAll(removeTempDirs)

describe('a command on a format-1 store', () => {
  it('migrates it, lists its sessions and verifies it; the fixture record says what is in it', async () => {
    const dir = await tempDir()
    await cp(join(ROOT, 'fixtures/stores/v1'), dir, { recursive: true })
    const expected = (await import(join(ROOT, 'fixtures/stores/v1.json'), { with: { type: 'json' } })).default as { sessions: Record<string, { head: string; length: number }> }
    const { sessions: rows } = await chainlogJson<{ sessions: { sessionId: string; head: string; length: number }[] }>(['ls', '--json', '--store', dir])
    expect(Object.fromEntries(rows.map((r) => [r.sessionId, { head: r.head, length: r.length }]))).toEqual(
      Object.fromEntries(Object.entries(expected.sessions).map(([id, s]) => [id, { head: s.head, length: s.length }])),
    )
    const v = await chainlog(['verify', '--all', '--store', dir])
    expect(v.code).toBe(0)
    // Not a terminal: no progress line on stderr.
    expect(v.stderr).toBe('')
  })
})
