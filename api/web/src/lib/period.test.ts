import { describe, expect, it } from 'vitest'
import { addDays, periodDates, previous, rangeOf, searchRange } from './period'

describe('periods', () => {
  const today = new Date(2026, 2, 31) // 31 March 2026
  it('names ranges ending today, both ends inclusive', () => {
    expect(rangeOf('7d', undefined, undefined, today)).toEqual({ from: '2026-03-25', to: '2026-03-31' })
    expect(rangeOf('90d', undefined, undefined, today)).toEqual({ from: '2026-01-01', to: '2026-03-31' })
    expect(rangeOf('all', undefined, undefined, today)).toEqual({ from: '', to: '' })
    expect(rangeOf('7d', '2026-02-01', '2026-02-28', today)).toEqual({ from: '2026-02-01', to: '2026-02-28' })
    expect(rangeOf(undefined, '2026-02-30', 'x', today)).toEqual({ from: '', to: '' })
  })
  it('compares with the period of the same length before', () => {
    expect(previous({ from: '2026-03-01', to: '2026-03-31' })).toEqual({ from: '2026-01-29', to: '2026-02-28' })
    expect(previous({ from: '', to: '2026-03-31' })).toBeNull()
  })
  it('gives searches an exclusive end', () => {
    expect(searchRange({ from: '2026-02-01', to: '2026-02-28' })).toEqual({ from: '2026-02-01', to: '2026-03-01' })
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29')
  })
  it('reads ISO weeks and months', () => {
    expect(periodDates('2026-W01')).toEqual({ from: '2025-12-29', to: '2026-01-04' })
    expect(periodDates('2026-W10')).toEqual({ from: '2026-03-02', to: '2026-03-08' })
    expect(periodDates('2026-02')).toEqual({ from: '2026-02-01', to: '2026-02-28' })
    expect(periodDates('2026-03-05')).toEqual({ from: '2026-03-05', to: '2026-03-05' })
    expect(periodDates('nope')).toBeNull()
  })
})
