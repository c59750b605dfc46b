// A store directory under Node: its LevelDB database (classic-level), opened once per process.
// Reached through platform/node.ts only, so a browser bundle never loads it.
import { resolve as resolvePath } from 'node:path'
import { ChainlogError, ErrorCodes } from '../errors.js'
import * as K from './keys.js'
import type { AnyLevel } from './level-engine.js'
import { checkStoreDir } from './dir-check.js'
import { storageError } from './open-errors.js'

export { checkStoreDir }
import { WRITE_BUFFER_BYTES } from './store-format.js'

/** Store directories this process has open. */
const HELD_PATHS = new Set<string>()

/** Open (or create) the LevelDB database of a store directory. */
export async function openStoreDir(path: string): Promise<AnyLevel> {
  // LevelDB locks a store with fcntl, and POSIX drops every fcntl lock a process holds on a
  // file when it closes any descriptor of that file: LevelDB's own refusal of a second open
  // in this process closes one, and another process could then open the store beside us.
  // So a directory this process holds is refused here, before LevelDB touches its LOCK.
  const held = resolvePath(path)
  if (HELD_PATHS.has(held)) {
    throw new ChainlogError(ErrorCodes.STORE_LOCKED, `store is already open in this process: ${path}`, { path })
  }
  // A file, an unreadable directory or damaged LevelDB files fail here, untouched.
  checkStoreDir(path)
  const { ClassicLevel } = await import('classic-level')
  const db = new ClassicLevel(path, { ...K.BIN, writeBufferSize: WRITE_BUFFER_BYTES }) as unknown as AnyLevel
  try {
    await db.open()
  } catch (err) {
    throw storageError(err, 'open', path)
  }
  HELD_PATHS.add(held)
  db.once('closed', () => HELD_PATHS.delete(held))
  return db
}
