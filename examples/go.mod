module github.com/csmsg/csmsg/examples

go 1.22

require (
	github.com/csmsg/csmsg v0.2.0
	github.com/csmsg/csmsg/inbox v0.2.0
	github.com/stretchr/testify v1.11.1
)

require (
	github.com/davecgh/go-spew v1.1.1 // indirect
	github.com/pmezard/go-difflib v1.0.0 // indirect
	go.etcd.io/bbolt v1.3.11 // indirect
	golang.org/x/sys v0.4.0 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)

// Developing in this repository: the root module and the inbox as they are
// here. The examples are not released; they build against the code beside
// them.
replace (
	github.com/csmsg/csmsg => ../
	github.com/csmsg/csmsg/inbox => ../inbox
)
