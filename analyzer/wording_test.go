package analyzer_test

import (
	"slices"
	"strings"
	"testing"

	"dongting/analyzer"
	"dongting/analyzer/analyzertest"
)

// scenesOf are a record's scenes as people label them, sorted.
func scenesOf(res *analyzer.Analysis) string {
	s := res.Prediction().Scenes
	slices.Sort(s)
	return strings.Join(s, " ")
}

// The scene rules by class of wording (LABELS.md, "scenes"), on texts short
// enough that the rules decide alone: a place, a date or a channel is no
// matter of its own, and the residents' own words for a matter are.
func TestSceneWording(t *testing.T) {
	a := analyzertest.New(t, "property")
	for _, tt := range []struct{ text, scenes string }{
		// The channel asked about or used is no scene.
		{"请问物业的投诉电话是多少？", ""},
		{"客服电话一直占线，打了一上午都打不通", "service"},
		{"在APP上留言一个星期了，客服一直不回", "service"},
		// A date, a place, a corridor: the matter is elsewhere.
		{"交房三年了，房产证还没办下来", "sales"},
		{"交房时发现墙面空鼓开裂", "delivery"},
		{"有人在楼道里闻到燃气味", "utilities"},
		{"业主们在售楼处门口拉横幅", ""},
		{"小区门口天天晚上有人摆摊，又吵又乱", "neighborhood"},
		{"学校门口的路太堵了，希望交警管管", ""},
		{"地下室有人存放汽油桶，太危险了", "security"},
		// Neighbourhood nuisances in the residents' words.
		{"隔壁住改商开了个麻将馆，每天吵到凌晨", "neighborhood"},
		{"楼顶被顶楼那户霸占了，当自家花园", "neighborhood"},
		{"楼道被对门的鞋柜杂物堆满了，过都过不去", "neighborhood"},
		{"一楼住户在院子里私自搭了个阳光房", "neighborhood"},
		{"楼上每天晚上跺脚，吵得根本睡不着", "neighborhood"},
		{"邻居家的狗每天半夜狂叫", "neighborhood"},
		{"空调外机一直滴水，滴到我家阳台上", "neighborhood"},
		// Charging a two-wheeler indoors is a fire risk, not parking.
		{"楼道里有人给电瓶车充电，很危险", "security"},
		{"五楼那户从窗户吊了根电线下来给电动车充电", "security"},
		{"电动车乱停在单元门口，进出都不方便", "parking"},
		// Incidents and theft as residents tell them.
		{"昨晚5栋发生火情，消防车来了才扑灭", "security"},
		{"楼上掉下来一块瓷砖砸到路过的老人", "security"},
		{"放在家门口的快递老是被人顺走", "security"},
		// Repairs: a drain, a tap, a visit; a tap that is only where the
		// water came from is the water.
		{"厕所下水道堵住了，水漫出来", "repair"},
		{"感谢物业的王师傅，半夜帮我修好了水管", "repair"},
		{"约好上午来修，师傅下午三点才到", "repair"},
		{"前天报修的卫生间漏水，到现在都没人上门", "repair"},
		{"早上打开水龙头，放出来的自来水是黄的", "utilities"},
		// Doors and gates.
		{"门卡住了打不开", "access"},
		{"外卖小哥进不了小区，每次都得下楼拿", "access"},
		// Common property put to another use is the owners' decision.
		{"架空层要改成养老院，我们坚决反对", "governance"},
		{"化粪池满了，一楼都能闻到臭味", "cleaning"},
		// Signal in a garage, a light out, a mains pipe broken by a
		// renovation, a canteen for the old, a work order asked after.
		{"地下室里手机一点信号都没有", "facilities"},
		{"小区西门的路灯不亮了", "facilities"},
		{"楼下装修把公共水管弄破了，我家停了两天水", "renovation utilities"},
		{"社区食堂的饭菜便宜又好吃", "community"},
		{"我想查一下我的工单进度", ""},
		{"修完没两天又漏了，这都第三回了", "repair"},
		{"电梯广告的收入都去哪了，从来没公示过", "facilities governance"},
	} {
		res := analyze(t, a, &analyzer.Record{ID: "x", Text: tt.text})
		if got := scenesOf(res); got != tt.scenes {
			t.Errorf("%s\n  scenes %q, want %q (tags %s)", tt.text, got, tt.scenes, tagIDs(res))
		}
	}
}

// A short question, request or suggestion about the home with no
// complaint is neutral; a harm reported or feared is never satisfaction.
func TestSentimentOfRequestsAndHarm(t *testing.T) {
	a := analyzertest.New(t, "property")
	for _, tt := range []struct{ text, sentiment string }{
		{"小区游泳池什么时候开放？", analyzer.Neutral},
		{"建议在小区里增设几个充电桩。", analyzer.Neutral},
		{"请问物业费可以在手机上交吗？", analyzer.Neutral},
		{"提前感谢，想问下车位月租怎么续费", analyzer.Neutral},
		{"我想查一下我的工单进度", analyzer.Neutral},
		{"会所的游泳池今年夏天啥时候开放", analyzer.Neutral},
		{"精装修送的地板一踩就咯吱响，这就是你们吹的高端品质？", analyzer.Negative},
		// A complaint in the form of a question stays one.
		{"凭什么让我们业主承担这个费用？", analyzer.Negative},
		{"架空层被人拿来堆废品纸箱，这个谁来管？", analyzer.Negative},
		{"家里暖气片不热，想报个修，多久能来人？", analyzer.Negative},
		{"学校门口的路太堵了，希望交警管管", analyzer.Negative},
		// Harm, feared or done, is a problem reported.
		{"万一着火谁负责？", analyzer.Negative},
		{"昨晚5栋发生火情，消防车来了才扑灭", analyzer.Negative},
		// Praise for help in one stays praise.
		{"感谢保安大哥，电梯困人时五分钟就赶到了，点赞", analyzer.Positive},
	} {
		res := analyze(t, a, &analyzer.Record{ID: "x", Text: tt.text})
		if res.Sentiment.Label != tt.sentiment {
			t.Errorf("%s\n  sentiment %+v, want %s", tt.text, res.Sentiment, tt.sentiment)
		}
		if tt.sentiment == analyzer.Neutral && res.Severity != analyzer.SeverityNone {
			t.Errorf("%s\n  severity %s, want none", tt.text, res.Severity)
		}
	}
}
