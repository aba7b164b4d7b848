import { describe, expect, it } from 'vitest'
import { displayID } from './ids'

describe('displayID', () => {
  it('shows a namespaced id as its own id and its scope', () => {
    expect(displayID('\u001f华南区域/深圳\u001f工单/2026/001')).toBe('工单/2026/001（华南区域/深圳）')
  })
  it('leaves other ids as they are', () => {
    for (const id of ['r3', '工单/2026/001', 'a%2Fb', '\u001f', '\u001fscope', '\u001f\u001fid']) expect(displayID(id)).toBe(id)
  })
})
