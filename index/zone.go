package index

import "time"

// DefaultZone is the time zone of days, weeks and months in rollups, trends
// and search when none is configured.
const DefaultZone = "Asia/Shanghai"

// DefaultLocation is DefaultZone, or a fixed UTC+8 (the same offset: China
// keeps no daylight saving time) where the zone database is missing.
func DefaultLocation() *time.Location {
	loc, err := time.LoadLocation(DefaultZone)
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}
