// Usage: tokens by model and by day, as charts and as a table.
import { useEffect, useState } from 'preact/hooks'
import { getJson, type UsageTotals } from '../api'
import { StackedBars } from '../charts'
import { count } from '../format'
import { ErrorBox, Loading, Section } from '../ui'

interface DayUsage extends UsageTotals {
  day: string
  model: string
}

interface UsageReply {
  byModel: Record<string, UsageTotals>
  byDay: DayUsage[]
}

export function UsagePage() {
  const [usage, setUsage] = useState<UsageReply>()
  const [error, setError] = useState<unknown>()
  useEffect(() => {
    getJson<UsageReply>('/api/usage').then(setUsage, setError)
  }, [])
  if (error) return <ErrorBox error={error} />
  if (!usage) return <Loading what="usage" />
  const models = Object.keys(usage.byModel).sort()
  const days = [...new Set(usage.byDay.map((d) => d.day))].sort()
  const uncached = (u: UsageTotals) => Math.max(0, u.inputTokens - u.cacheReadTokens)
  return (
    <>
      <Section title="Tokens by model">
        {models.length === 0 ? (
          <p class="muted">No llm_usage entries in this store.</p>
        ) : (
          <>
            <StackedBars
              categories={models}
              format={count}
              series={[
                { label: 'input (uncached)', values: models.map((m) => uncached(usage.byModel[m]!)) },
                { label: 'input (cache read)', values: models.map((m) => usage.byModel[m]!.cacheReadTokens) },
                { label: 'output', values: models.map((m) => usage.byModel[m]!.outputTokens) },
              ]}
            />
            <table class="usage-table" data-table="by-model">
              <thead>
                <tr>
                  <th>Model</th>
                  <th class="num">Calls</th>
                  <th class="num">Input</th>
                  <th class="num">Cache read</th>
                  <th class="num">Cache write</th>
                  <th class="num">Output</th>
                  <th class="num">Reasoning</th>
                </tr>
              </thead>
              <tbody>
                {models.map((m) => {
                  const u = usage.byModel[m]!
                  return (
                    <tr key={m} data-model={m}>
                      <td>{m}</td>
                      <td class="num">{u.calls.toLocaleString()}</td>
                      <td class="num">{u.inputTokens.toLocaleString()}</td>
                      <td class="num">{u.cacheReadTokens.toLocaleString()}</td>
                      <td class="num">{u.cacheWriteTokens.toLocaleString()}</td>
                      <td class="num">{u.outputTokens.toLocaleString()}</td>
                      <td class="num">{u.reasoningTokens.toLocaleString()}</td>
                    </tr>
                  )
                })}
              </tbody>
            </table>
          </>
        )}
      </Section>
      <Section title="Tokens by day (input + output, UTC)">
        {days.length === 0 ? (
          <p class="muted">No usage yet.</p>
        ) : (
          <StackedBars
            categories={days}
            format={count}
            series={models.map((m) => ({
              label: m,
              values: days.map((d) => {
                const row = usage.byDay.find((r) => r.day === d && r.model === m)
                return row ? row.inputTokens + row.outputTokens : 0
              }),
            }))}
          />
        )}
      </Section>
    </>
  )
}
