package rollup

import (
	"encoding/binary"
	"sync"
	"time"
)

// Cell names one rollup cell.
type Cell struct {
	Org, Node, Dim, Day, Channel, Kind string
}

// DayLayout is how a cell's day is written (in the rollup time zone).
const DayLayout = "20060102"

// cellKey is a cell as stored: org, node, dim ids, day number, channel and
// kind ids, big-endian so keys sort by series and then by day.
type cellKey [22]byte

const prefixLen = 12

func makeKey(org, node, dim uint32, day uint16, channel, kind uint32) cellKey {
	var k cellKey
	binary.BigEndian.PutUint32(k[0:], org)
	binary.BigEndian.PutUint32(k[4:], node)
	binary.BigEndian.PutUint32(k[8:], dim)
	binary.BigEndian.PutUint16(k[12:], day)
	binary.BigEndian.PutUint32(k[14:], channel)
	binary.BigEndian.PutUint32(k[18:], kind)
	return k
}

func (k *cellKey) day() uint16      { return binary.BigEndian.Uint16(k[12:]) }
func (k *cellKey) channel() uint32  { return binary.BigEndian.Uint32(k[14:]) }
func (k *cellKey) kind() uint32     { return binary.BigEndian.Uint32(k[18:]) }
func (k *cellKey) prefix() [12]byte { return [12]byte(k[:prefixLen]) }

// Days are numbered from 2000-01-01 (a uint16 lasts until 2179).
var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func dayNumber(t time.Time, loc *time.Location) (uint16, bool) {
	y, m, d := t.In(loc).Date()
	n := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Sub(epoch).Hours() / 24
	if n < 0 || n > 65535 {
		return 0, false
	}
	return uint16(n), true
}

// dayString formats a day number; days up to 2100 are formatted once.
func dayString(n uint16) string {
	dayStringsOnce.Do(func() {
		for i := range dayStrings {
			dayStrings[i] = epoch.AddDate(0, 0, i).Format(DayLayout)
		}
	})
	if int(n) < len(dayStrings) {
		return dayStrings[n]
	}
	return epoch.AddDate(0, 0, int(n)).Format(DayLayout)
}

var (
	dayStrings     [36890]string // 2000-01-01 … 2100-12-31
	dayStringsOnce sync.Once
)

func parseDay(s string) (uint16, bool) {
	t, err := time.Parse(DayLayout, s)
	if err != nil {
		return 0, false
	}
	return dayNumber(t, time.UTC)
}
