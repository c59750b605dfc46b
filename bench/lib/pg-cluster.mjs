// Case 15's throwaway PostgreSQL cluster: the tests' helper (test/support/pg-cluster.ts: Debian's
// initdb + pg_ctl from /usr/lib/postgresql/<version>/bin, a temp directory, a unix socket in it,
// no TCP port, run as `nobody` when we are root) loaded as is, not copied: esbuild (a dev
// dependency of chainlog) turns the TypeScript file into a module in a temp directory, which is
// imported from there. The cluster runs with the server's default durability settings (fsync on,
// synchronous_commit on), so a durable commit waits for its WAL flush as on a real server.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const SOURCE = path.join(HERE, '..', '..', 'test', 'support', 'pg-cluster.ts')

let helper
/** test/support/pg-cluster.ts as a module ({ startPgCluster, findPgBin }). */
async function load() {
  if (helper) return helper
  const { buildSync } = await import('esbuild')
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'chainlog-bench-pgc-'))
  const out = path.join(tmp, 'pg-cluster.mjs')
  try {
    buildSync({ entryPoints: [SOURCE], outfile: out, format: 'esm', platform: 'node', logLevel: 'error' })
    helper = await import(pathToFileURL(out).href)
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true })
  }
  return helper
}

/**
 * Why case 15 cannot run here (no PostgreSQL server binaries, or no esbuild to load the helper),
 * or null when it can. The bench skips the case with this reason; anything else that goes wrong
 * later (initdb, the server's start) is a failure, not a skip.
 */
export async function pgUnavailable() {
  let h
  try {
    h = await load()
  } catch (err) {
    return `cannot load test/support/pg-cluster.ts (esbuild): ${String(err?.message ?? err).split('\n')[0]}`
  }
  try {
    h.findPgBin()
    return null
  } catch (err) {
    return String(err?.message ?? err)
  }
}

/**
 * Start a throwaway cluster. `settings` go to postgresql.conf names (the bench's 4 writer
 * processes x (chainlog's pool + the peer's one connection per session) need more than the
 * default 100 connections). The caller stops it with `destroy()` (in a finally); a process that
 * exits without that stops it on its way out (the helper's exit hook).
 */
export async function startBenchCluster(settings = {}) {
  const { startPgCluster } = await load()
  return startPgCluster({ settings: { max_connections: 200, ...settings } })
}

/**
 * CPU time (ms) the cluster's processes have used so far: the postmaster, its live children
 * (backends, WAL writer, checkpointer, ...) and its children that have exited (cutime). Linux
 * only (/proc); NaN elsewhere. Take the difference around a measurement: the server's side of
 * the work, which a client process's own CPU time does not show.
 */
export function serverCpuMs(cluster) {
  try {
    const pid = Number(fs.readFileSync(path.join(cluster.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0])
    const tick = 1000 / 100 // USER_HZ: 100 on Linux (getconf CLK_TCK)
    const fields = (p) => {
      const s = fs.readFileSync(`/proc/${p}/stat`, 'utf8')
      return s.slice(s.lastIndexOf(')') + 2).split(' ') // fields from 3 (state) on
    }
    const own = fields(pid)
    // utime 14, stime 15, cutime 16, cstime 17 (1-based in proc(5)); here index = n - 3
    let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14])
    for (const name of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue
      try {
        const f = fields(name)
        if (Number(f[1]) === pid) ticks += Number(f[11]) + Number(f[12])
      } catch {
        // exited meanwhile: its time is in the postmaster's cutime
      }
    }
    return ticks * tick
  } catch {
    return NaN
  }
}
