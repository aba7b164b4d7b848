package taxonomy

import (
	"fmt"
	"testing"
)

// BenchmarkMatch shows the matcher's cost per record does not grow with the
// number of rules: only rules holding a present term are evaluated.
func BenchmarkMatch(b *testing.B) {
	record := toks("小区 的 电梯 又 坏 了 ， 物业 一直 没人管 ， 保洁 也 很 差 ， 停车位 不够 ， 物业费 还 涨价")
	for _, n := range []int{150, 15000} {
		var src []Source
		src = append(src, Source{Name: "elevator", Rule: "NEAR/3(电梯, 坏 | 故障)"}, Source{Name: "fee", Rule: "物业费 & 涨价"})
		for i := range n - 2 {
			src = append(src, Source{Name: fmt.Sprint(i), Rule: fmt.Sprintf("词%d | 短语%d & 其他%d", i, i, i)})
		}
		m, err := Compile(src, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			for b.Loop() {
				if len(m.Match(record)) != 2 {
					b.Fatal("want 2 hits")
				}
			}
		})
	}
}
