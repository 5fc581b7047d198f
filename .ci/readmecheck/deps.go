//go:build readmedeps

// This file is never built: it keeps in go.mod and go.sum the modules that
// the documents' go blocks import, so that the scratch module the checker
// compiles them in (with this go.mod and go.sum) resolves them.
package main

import (
	_ "github.com/csmsg/csmsg"
	_ "github.com/csmsg/csmsg/csmsgredis"
	_ "github.com/csmsg/csmsg/csmsgtest"
	_ "github.com/csmsg/csmsg/inbox"
	_ "github.com/gin-gonic/gin"
	_ "github.com/redis/go-redis/v9"
)
