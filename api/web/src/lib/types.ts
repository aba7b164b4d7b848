// Shapes of the API's answers the app reads (see api/openapi.yaml).

export interface Me {
  id: string
  name: string
  role: string
  scope: string
  may: { read: boolean; export: boolean; act: boolean; write: boolean; admin: boolean; curate: boolean }
}

export interface TaxNode {
  id: string
  name: string
  rule?: string
  children?: TaxNode[]
}

export interface TaxonomyTree {
  id: string
  name: string
  scenes: TaxNode[]
  dimensions: TaxNode[]
}

export interface OrgNode {
  path: string
  name: string
  level: number
  records: number
  children?: OrgNode[]
}

export interface Sentiment {
  label: 'negative' | 'neutral' | 'positive'
  score: number
  confidence?: number
}

export interface Evidence {
  turn?: number
  start: number
  end: number
  text: string
}

export interface Tag {
  id: string
  scene?: string
  path: string[]
  parents?: string[]
  rule: string
  sentiment: Sentiment
  evidence: Evidence[]
  confidence?: number
  source?: string
}

export interface Signal {
  id: string
  name: string
  kind: string
  severity?: string
  evidence?: Evidence[]
}

export interface Analysis {
  id: string
  sentiment: Sentiment
  severity: string
  praise: boolean
  redline: string[] | null
  tags: Tag[] | null
  dimensions: Tag[] | null
  signals: Signal[] | null
  keywords: string[] | null
  pii?: Record<string, number>
  model?: Record<string, unknown>
  [k: string]: unknown
}

export interface Turn {
  speaker: 'agent' | 'customer'
  text: string
}

export interface RecordBody {
  id: string
  kind?: string
  channel?: string
  org?: string
  occurred_at?: string
  customer?: string
  text?: string
  turns?: Turn[]
  nps?: number
  csat?: number
  stage?: string
  meta?: Record<string, string>
}

export interface StoredRecord {
  seq: number
  record: RecordBody
  analysis: Analysis
  ingested_at: string
}

export interface Hit {
  id: string
  score: number
  kind?: string
  channel?: string
  org?: string
  occurred_at?: string
  nps?: number
  csat?: number
  sentiment?: Sentiment
  severity?: string
  tags: string[]
  snippets?: string[]
  text?: string
  turns?: Turn[]
}

export interface FacetCount {
  value: string
  count: number
  name?: string
}

export interface SearchPage {
  total: number
  hits: Hit[]
  facets?: Record<string, FacetCount[]>
  next?: string
  took_ms: number
}

export interface Bucket {
  start: string
  end: string
  label: string
  count: number
}

export interface Histogram {
  interval: string
  total: number
  from?: string
  to?: string
  buckets: Bucket[]
}

export interface Point {
  period: string
  value: number | null
  n: number
  low?: number
  high?: number
  insufficient?: boolean
}

export interface Series {
  key: string
  name: string
  points: Point[]
  total: Point
}

export interface Trend {
  metric: string
  interval: string
  from: string
  to: string
  periods: string[]
  series: Series[]
}

export interface Mover {
  touchpoint: string
  name: string
  scene: string
  current: number
  previous: number
  share_current: number
  share_previous: number
  change: number
  z: number
  p: number
  direction: string
}

export interface Movers {
  measure: string
  current: [string, string]
  previous: [string, string]
  total_current: number
  total_previous: number
  tested: number
  rising: Mover[]
  falling: Mover[]
}

export interface NPSValue {
  nps: number | null
  low?: number
  high?: number
  n: number
  promoters?: number
  passives?: number
  detractors?: number
}

export interface IndicatorScore {
  id: string
  name: string
  weight: number
  score: number | null
  n: number
  insufficient?: boolean
  children?: IndicatorScore[]
}

export interface Experience {
  index: IndicatorScore
  nps: NPSValue
  satisfaction: number | null
  csat: number | null
}

export interface Driver {
  touchpoint: string
  name: string
  scene: string
  n: number
  share: number
  nps_negative: number | null
  nps_rest: number | null
  nps_gap: number | null
  impact: number | null
  rank?: number
  insufficient?: boolean
}

export interface AlertEvent {
  at: string
  by: string
  action: string
  level?: number
  note?: string
}

export interface Alert {
  id: string
  source: string
  severity: string
  org: string
  scene?: string
  title: string
  redline?: string[]
  count: number
  record_ids: string[]
  status: string
  notified: number[]
  step: number
  next_escalation?: string
  first_at: string
  last_at: string
  group_until: string
  history: AlertEvent[]
}

export interface AlertSummary {
  status: Record<string, number>
  unresolved: { severity: Record<string, number>; source: Record<string, number>; records: number; escalated: number }
}

export interface ApiKey {
  id: string
  name: string
  role: string
  scope: string
  created: string
  created_by?: string
  revoked?: string
}

export interface AuditEntry {
  seq: number
  at: string
  key: string
  action: string
  target?: string
  detail?: string
}

export interface Status {
  records: number
  last_seq: number
  indexed_seq: number
  index_lag: number
  index_docs: number
  indexer_error?: string
}

export interface Job {
  version: number
  state: string
  total: number
  done: number
  percent: number
  rate: number
  eta_seconds?: number
  error?: string
}

export interface GoldenScore {
  precision: number
  recall: number
  f1: number
}

export interface GoldenReport {
  cases: number
  before: GoldenScore
  after: GoldenScore
  worse: boolean
  worse_nodes?: string[]
  nodes?: { node: string; before: GoldenScore; after: GoldenScore; worse: boolean }[]
}

export interface DiffEntry {
  node: string
  change: string
  name?: string
  fields?: string[]
  old_rule?: string
  new_rule?: string
}

export interface Version {
  version: number
  taxonomy: string
  name: string
  author: string
  note?: string
  created_at: string
  rollback_of?: number
  forced?: boolean
  nodes: number
  diff?: DiffEntry[]
  golden?: GoldenReport
  source?: string
}

export interface Sample {
  id: string
  snippet: string
  evidence?: Evidence[]
  tags?: string[]
}

export interface DryRunNode {
  node: string
  name: string
  before: number
  after: number
  gained: number
  lost: number
  gained_samples?: Sample[]
  lost_samples?: Sample[]
}

export interface DryRun {
  scanned: number
  records: number
  diff: DiffEntry[]
  untagged: { before: number; after: number }
  changed: number
  nodes: DryRunNode[]
  golden?: GoldenReport
}

export interface Cluster {
  terms: { term: string; target: number; background: number; g2: number; lift: number; phrase?: boolean }[]
  records: number
  samples: Sample[]
  suggested: { name: string; scene: string; rule: string }
}

export interface Discovery {
  target: string
  scanned: number
  target_records: number
  background_records: number
  clusters: Cluster[]
}

export interface CoveragePoint {
  period: string
  records: number
  untagged: number
  coverage: number | null
}

export interface Coverage {
  interval: string
  periods: string[]
  series: { key: string; points: CoveragePoint[]; total: CoveragePoint }[]
}

export interface ReviewItem {
  id: string
  kind?: string
  text: string
  turns?: Turn[]
  analysis: Analysis
  reasons: string[]
  suggested: { scenes: { scene: string; confidence: number; source: string }[] }
}

export interface Labels {
  scenes: string[]
  redline: boolean
  severity: string
  sentiment: string
  praise: boolean
}

export interface Step {
  expr: string
  matched: boolean
  evidence?: Evidence[]
  parts?: Step[]
}

export interface Explanation {
  node: string
  rule: string
  matched: boolean
  tagged: boolean
  shadowed_by?: string[]
  steps: Step
}
