module dongting

go 1.26

require (
	github.com/longbridgeapp/opencc v0.3.13
	github.com/yanyiwu/gojieba v1.4.7
	gopkg.in/yaml.v3 v3.0.1
)

require (
	github.com/liuzl/cedar-go v0.0.0-20170805034717-80a9c64b256d // indirect
	github.com/liuzl/da v0.0.0-20180704015230-14771aad5b1d // indirect
)
