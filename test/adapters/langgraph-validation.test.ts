// LangGraph's own conformance suite for checkpointers (@langchain/langgraph-checkpoint-validation),
// run in full against ChainlogSaver, plus its opt-in getDeltaChannelHistory scenarios. The suite
// is written against Jest-style globals; this file provides vitest's instead of turning globals
// on for every test file.
import { deltaChannelHistoryTests, validate, type CheckpointSaverTestInitializer } from '@langchain/langgraph-checkpoint-validation'
import { MemoryLevel } from 'memory-level'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, test } from 'vitest'
import { ChainlogSaver } from '../../src/adapters/langgraph.js'
import { Store } from '../../src/store.js'

Object.assign(globalThis, { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, test })

/** A fresh in-memory store per checkpointer: the suite needs instances that share nothing. */
const initializer: CheckpointSaverTestInitializer<ChainlogSaver> = {
  checkpointerName: 'chainlog',
  async createCheckpointer() {
    return new ChainlogSaver(await Store.open({ db: new MemoryLevel(), durability: 'relaxed' }))
  },
  async destroyCheckpointer(saver) {
    const report = await (saver.store as Store).verify()
    expect(report.findings).toEqual([])
    await saver.store.close()
  },
}

validate(initializer)
deltaChannelHistoryTests(initializer)
