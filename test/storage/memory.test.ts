// The session store contract on memory-level (relaxed durability: nothing to fsync).
import { MemoryLevel } from 'memory-level'
import { expect, it } from 'vitest'
import { openStore } from '../../src/open.js'
import { storeContract } from './contract.js'

storeContract('memory-level', () => {
  const db = new MemoryLevel()
  return {
    open: () => openStore({ db, durability: 'relaxed' }),
    // memory-level keeps its data across close and open of the same instance.
    reopen: () => openStore({ db, durability: 'relaxed' }),
    cleanup: async () => {},
  }
})

it('memory-level store reports relaxed durability', async () => {
  const store = await openStore({ db: new MemoryLevel(), durability: 'relaxed' })
  expect(store.durability).toBe('relaxed')
  await store.close()
})
