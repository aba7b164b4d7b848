import { describe, expect, it } from 'vitest'
import { markedTerms, snippetSegments, spanSegments, termSegments } from './highlight'

describe('highlights', () => {
  it('reads snippets as text, never as HTML', () => {
    const segs = snippetSegments('3栋<mark>电梯</mark>坏了 &lt;script&gt;alert(1)&lt;/script&gt; &amp; <mark>困人</mark>')
    expect(segs.map((s) => [s.text, s.mark])).toEqual([
      ['3栋', false], ['电梯', true], ['坏了 <script>alert(1)</script> & ', false], ['困人', true],
    ])
    expect(markedTerms(['<mark>电梯</mark>和<mark>电梯困人</mark>', '<mark>电梯</mark>'])).toEqual(['电梯困人', '电梯'])
  })
  it('marks terms in transcript turns', () => {
    expect(termSegments('电梯又坏了，电梯困人', ['电梯困人', '电梯']).map((s) => [s.text, s.mark])).toEqual([
      ['电梯', true], ['又坏了，', false], ['电梯困人', true],
    ])
    expect(termSegments('a.b', ['.'])[1]).toEqual({ text: '.', mark: true, keys: [] })
  })
  it('cuts evidence spans by code points, overlapping ones too', () => {
    // 𠀀 is one code point but two UTF-16 units.
    const segs = spanSegments('𠀀电梯困人了', [{ start: 1, end: 3, key: 'a' }, { start: 1, end: 5, key: 'b' }, { start: 9, end: 12, key: 'bad' }])
    expect(segs.map((s) => [s.text, s.keys])).toEqual([
      ['𠀀', []], ['电梯', ['a', 'b']], ['困人', ['b']], ['了', []],
    ])
  })
})
