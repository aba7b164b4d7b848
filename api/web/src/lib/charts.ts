// ECharts, only the parts the views use (echarts/core keeps the rest out
// of the bundle). Imported dynamically by EChart.vue, so views without
// charts never load it.
import * as echarts from 'echarts/core'
import { BarChart, LineChart, TreemapChart } from 'echarts/charts'
import { AriaComponent, BrushComponent, GridComponent, LegendComponent, MarkAreaComponent, TooltipComponent } from 'echarts/components'
import { SVGRenderer } from 'echarts/renderers'

echarts.use([BarChart, LineChart, TreemapChart, AriaComponent, BrushComponent, GridComponent, LegendComponent, MarkAreaComponent, TooltipComponent, SVGRenderer])

export { echarts }
export type { EChartsType } from 'echarts/core'
