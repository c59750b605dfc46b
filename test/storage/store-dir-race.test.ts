// checkStoreDir while another process holds the store and writes a new manifest: it renames
// CURRENT to name the new one and deletes the old, so a reader can see CURRENT name a manifest
// that is gone a moment later. That is not damage; a CURRENT that stays on a missing manifest is.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'

// The first read of CURRENT sees what it held before the holder moved it on.
const stale = { next: undefined as string | undefined }
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>()
  const readSync = ((fd: number, buf: Buffer, ...rest: unknown[]) => {
    if (stale.next !== undefined) {
      const n = buf.write(stale.next, 0, 'latin1')
      stale.next = undefined
      return n
    }
    return (fs.readSync as (...a: unknown[]) => number)(fd, buf, ...rest)
  }) as typeof fs.readSync
  return { ...fs, readSync, default: { ...fs, readSync } }
})

const { checkStoreDir } = await import('../../src/storage/dir-check.js')

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function storeDir(current: string, manifests: string[]): string {
  const d = mkdtempSync(join(tmpdir(), 'chainlog-current-'))
  dirs.push(d)
  writeFileSync(join(d, 'CURRENT'), current)
  for (const m of manifests) writeFileSync(join(d, m), '')
  return d
}

describe('checkStoreDir and a manifest being replaced', () => {
  it('a CURRENT read just before it moved on to a new manifest is not damage', () => {
    const d = storeDir('MANIFEST-000005\n', ['MANIFEST-000005'])
    stale.next = 'MANIFEST-000004\n'
    expect(() => checkStoreDir(d)).not.toThrow()
    expect(stale.next).toBeUndefined()
  })

  it('a CURRENT that stays on a missing manifest is CHAINLOG_CORRUPT_STORE', () => {
    const d = storeDir('MANIFEST-000004\n', ['MANIFEST-000005'])
    expect(() => checkStoreDir(d)).toThrow(expect.objectContaining({ code: 'CHAINLOG_CORRUPT_STORE', data: expect.objectContaining({ file: 'MANIFEST-000004' }) }))
  })
})
