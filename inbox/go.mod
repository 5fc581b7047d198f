module github.com/csmsg/csmsg/inbox

go 1.25.0

require (
	github.com/stretchr/testify v1.11.1
	go.etcd.io/bbolt v1.5.0
)

require (
	github.com/davecgh/go-spew v1.1.1 // indirect
	github.com/pmezard/go-difflib v1.0.0 // indirect
	golang.org/x/sys v0.45.0 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)

replace github.com/csmsg/csmsg => ../
