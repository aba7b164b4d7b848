package rollup

import (
	"encoding/binary"
	"errors"
)

// Counter indices of Counts.
const (
	CVolume    = iota // records
	CSentiment        // sum of sentiment scores × 10⁴ (fixed point, so deletes are exact)
	CNegative         // sentiment labels
	CNeutral
	CPositive
	CPromoters // NPS 9–10
	CPassives  // NPS 7–8
	CDetractors
	CCSATSum
	CCSATN
	CP1
	CP2
	CP3
	CPraise
	// Survey answers of the records where this cell's node was mentioned
	// negatively (key-driver analysis); zero in "*" cells.
	CNegPromoters
	CNegPassives
	CNegDetractors
	CNegCSATSum
	CNegCSATN
	numCounters
)

// SentimentScale is the fixed-point scale of CSentiment.
const SentimentScale = 10_000

// Counts are one cell's counters.
type Counts [numCounters]int64

// Add adds o to c.
func (c *Counts) Add(o *Counts) {
	for i := range c {
		c[i] += o[i]
	}
}

func (c *Counts) sub(o *Counts) {
	for i := range c {
		c[i] -= o[i]
	}
}

func (c *Counts) zero() bool { return *c == Counts{} }

// appendCounts encodes counts sparsely: a bitmap of the non-zero counters,
// then their values (most cells have three or four).
func appendCounts(b []byte, c *Counts) []byte {
	var mask uint64
	for i, v := range c {
		if v != 0 {
			mask |= 1 << i
		}
	}
	b = binary.AppendUvarint(b, mask)
	for _, v := range c {
		if v != 0 {
			b = binary.AppendVarint(b, v)
		}
	}
	return b
}

// decodeCounts reads what appendCounts wrote and returns the rest of b.
func decodeCounts(b []byte, c *Counts) ([]byte, error) {
	mask, n := binary.Uvarint(b)
	if n <= 0 || mask>>numCounters != 0 {
		return nil, errors.New("rollups: corrupt counts")
	}
	b = b[n:]
	for i := range c {
		c[i] = 0
		if mask&(1<<i) == 0 {
			continue
		}
		v, n := binary.Varint(b)
		if n <= 0 {
			return nil, errors.New("rollups: corrupt counts")
		}
		c[i] = v
		b = b[n:]
	}
	return b, nil
}
