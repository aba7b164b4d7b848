import { describe, expect, it } from 'vitest'
import { addTouchpoint, hunks, lineDiff } from './diff'

const yaml = `id: property
scenes:
  - id: parking
    name: 停车与车行
    touchpoints:
      - {id: parking.space, name: 车位, terms: [车位]}
  - id: cleaning
    name: 环境卫生
    touchpoints:
      - {id: cleaning.cleaner, name: 保洁, terms: [保洁]}
`

describe('diffs', () => {
  it('finds added and removed lines', () => {
    const d = lineDiff('a\nb\nc\nd', 'a\nc\nd\ne')
    expect(d.map((l) => l.op + l.text)).toEqual([' a', '-b', ' c', ' d', '+e'])
    expect(hunks(lineDiff(Array.from({ length: 20 }, (_, i) => 'l' + i).join('\n'), Array.from({ length: 20 }, (_, i) => (i === 10 ? 'X' : 'l' + i)).join('\n')), 1).map((l) => (l ? l.op + l.text : null))).toEqual([' l9', '-l10', '+X', ' l11'])
  })
  it('adds a discovered node under its scene, quoted', () => {
    const out = addTouchpoint(yaml, 'parking', { id: 'parking.convenience', name: "停车'便利", rule: '停车 | "停车有点"' })!
    expect(out.split('\n')[5]).toBe(`      - {id: 'parking.convenience', name: '停车''便利', rule: '停车 | "停车有点"'}`)
    expect(out.split('\n')[6]).toContain('parking.space')
    expect(addTouchpoint(yaml, 'nowhere', { id: 'x', name: 'x', rule: 'x' })).toBeNull()
    expect(addTouchpoint(yaml, 'cleaning', { id: 'c.x', name: 'x', rule: 'x' })!.split('\n')[9]).toContain("'c.x'")
  })
})
