package domain

// Partition definition types, in the shape the servo SDK serialises.
const (
	PartitionDaily   = "time_daily"
	PartitionHourly  = "time_hourly"
	PartitionWeekly  = "time_weekly"
	PartitionMonthly = "time_monthly"
	PartitionStatic  = "static"
	PartitionDynamic = "dynamic"
)

// PartitionsDef says how an asset is partitioned. Time types use StartDate,
// EndDate (exclusive, optional) and Timezone; static lists its Keys; a
// dynamic asset's keys are stored apart and added or removed over the API.
// Its rules live in internal/partition.
type PartitionsDef struct {
	Type      string   `json:"type"`
	StartDate string   `json:"start_date,omitempty"`
	EndDate   string   `json:"end_date,omitempty"`
	Timezone  string   `json:"timezone,omitempty"`
	Keys      []string `json:"keys,omitempty"`
}

// Partition mapping types on a dependency edge.
const (
	MappingIdentity = "identity"
	MappingAll      = "all"
	MappingLast     = "last"
	MappingOffset   = "time_offset"
)

// PartitionMapping says which upstream partitions a downstream partition
// reads. Nil means the default: identity for like definitions, the
// overlapping time windows for time definitions of different granularity.
type PartitionMapping struct {
	Type string `json:"type"`
	// Offset shifts the downstream partition by this many of its periods
	// before mapping (time_offset only): -1 reads the previous period.
	Offset int `json:"offset,omitempty"`
}
