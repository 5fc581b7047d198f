module github.com/csmsg/csmsg/benchmarks

go 1.23

require (
	github.com/bytedance/sonic v1.15.5
	github.com/csmsg/csmsg v0.2.0
	github.com/csmsg/csmsg/csmsgredis v0.0.0
	github.com/goccy/go-json v0.10.5
	github.com/json-iterator/go v1.1.12
	github.com/medivhzhan/weapp/v3 v3.8.1
	github.com/redis/go-redis/v9 v9.17.3
	github.com/segmentio/encoding v0.5.4
	github.com/silenceper/wechat/v2 v2.1.10
)

require (
	github.com/bradfitz/gomemcache v0.0.0-20220106215444-fb4bf637b56d // indirect
	github.com/bytedance/gopkg v0.1.3 // indirect
	github.com/bytedance/sonic/loader v0.5.3 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/cloudwego/base64x v0.1.6 // indirect
	github.com/csmsg/csmsg/inbox v0.2.0 // indirect
	github.com/dgryski/go-rendezvous v0.0.0-20200823014737-9f7001d12a5f // indirect
	github.com/fatih/color v1.16.0 // indirect
	github.com/go-redis/redis/v8 v8.11.5 // indirect
	github.com/klauspost/cpuid/v2 v2.2.9 // indirect
	github.com/mattn/go-colorable v0.1.13 // indirect
	github.com/mattn/go-isatty v0.0.20 // indirect
	github.com/modern-go/concurrent v0.0.0-20180228061459-e0a39a4cb421 // indirect
	github.com/modern-go/reflect2 v1.0.2 // indirect
	github.com/segmentio/asm v1.1.3 // indirect
	github.com/tidwall/gjson v1.14.1 // indirect
	github.com/tidwall/match v1.1.1 // indirect
	github.com/tidwall/pretty v1.2.0 // indirect
	github.com/twitchyliquid64/golang-asm v0.15.1 // indirect
	golang.org/x/arch v0.0.0-20210923205945-b76863e36670 // indirect
	golang.org/x/crypto v0.0.0-20220622213112-05595931fe9d // indirect
	golang.org/x/sys v0.22.0 // indirect
)

replace github.com/csmsg/csmsg => ../

replace github.com/csmsg/csmsg/csmsgredis => ../csmsgredis

replace github.com/csmsg/csmsg/inbox => ../inbox
