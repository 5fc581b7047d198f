module github.com/csmsg/csmsg/examples

go 1.22

require (
	github.com/csmsg/csmsg v0.2.0
	github.com/csmsg/csmsg/csmsgredis v0.2.0
	github.com/csmsg/csmsg/inbox v0.2.0
	github.com/redis/go-redis/v9 v9.17.3
	github.com/stretchr/testify v1.11.1
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/davecgh/go-spew v1.1.1 // indirect
	github.com/dgryski/go-rendezvous v0.0.0-20200823014737-9f7001d12a5f // indirect
	github.com/pmezard/go-difflib v1.0.0 // indirect
	go.etcd.io/bbolt v1.3.11 // indirect
	golang.org/x/sys v0.4.0 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)

// Developing in this repository: the root module, the inbox and csmsgredis
// as they are here. The examples are not released; they build against the
// code beside them.
replace (
	github.com/csmsg/csmsg => ../
	github.com/csmsg/csmsg/csmsgredis => ../csmsgredis
	github.com/csmsg/csmsg/inbox => ../inbox
)
