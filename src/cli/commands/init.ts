// `chainlog init`: create the store directory and database; harmless when it already exists.
import type { Command } from 'commander'
import type { Ctx } from '../context.js'
import { isPostgresUrl, isStoreDir, openShared, redactUrl } from '../store-access.js'

export function registerInit(program: Command, ctx: Ctx): void {
  program
    .command('init')
    .description('create the store (does nothing if it already exists)')
    .option('--json', 'print { path, created } as JSON')
    .action(async (opts: { json?: boolean }) => {
      const dir = ctx.storeDir()
      if (isPostgresUrl(dir)) {
        // The schema is created (and versioned) when the store is first opened.
        const store = await openShared(dir)
        await store.close()
        const where = redactUrl(dir)
        if (opts.json) ctx.out.json({ path: where, created: null })
        else ctx.out.line(`chainlog store ready on PostgreSQL at ${where}`)
        return
      }
      const existed = isStoreDir(dir)
      // LevelDB creates the directory (and its parents); a path that is a file is refused first.
      const store = await openShared(dir)
      await store.close()
      if (opts.json) ctx.out.json({ path: dir, created: !existed })
      else ctx.out.line(existed ? `chainlog store already exists in ${dir}` : `Initialized empty chainlog store in ${dir}`)
    })
}
