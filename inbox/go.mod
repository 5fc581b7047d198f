module github.com/csmsg/csmsg/inbox

go 1.22

require (
	github.com/csmsg/csmsg v0.2.0
	github.com/stretchr/testify v1.11.1
	go.etcd.io/bbolt v1.3.11
)

require (
	github.com/davecgh/go-spew v1.1.1 // indirect
	github.com/pmezard/go-difflib v1.0.0 // indirect
	golang.org/x/sys v0.4.0 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)

// Developing in this repository: the root module as it is here. A release
// tags the modules together (v0.2.0 and inbox/v0.2.0), so that the require
// above resolves without this line for users.
replace github.com/csmsg/csmsg => ../
