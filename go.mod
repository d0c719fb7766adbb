module github.com/gofil/gofil

go 1.26.0

require (
	github.com/goccy/go-graphviz v0.2.10
	github.com/google/pprof v0.0.0-20261016150608-1facf8f91b50
	github.com/shirou/gopsutil/v4 v4.26.10
	golang.org/x/mod v0.42.0
	golang.org/x/sys v0.48.0
)

require (
	github.com/disintegration/imaging v1.6.2 // indirect
	github.com/ebitengine/purego v0.11.2 // indirect
	github.com/flopp/go-findfont v0.1.0 // indirect
	github.com/fogleman/gg v1.3.0 // indirect
	github.com/go-ole/go-ole v1.2.6 // indirect
	github.com/golang/freetype v0.0.0-20170609003504-e2365dfdc4a0 // indirect
	github.com/lufia/plan9stats v0.0.0-20211012122336-39d0f177ccd0 // indirect
	github.com/power-devops/perfstat v0.0.0-20260805114148-88456608a4f6 // indirect
	github.com/tetratelabs/wazero v1.10.1 // indirect
	github.com/tklauser/go-sysconf v0.4.0 // indirect
	github.com/tklauser/numcpus v0.12.0 // indirect
	github.com/yusufpapurcu/wmi v1.2.4 // indirect
	golang.org/x/image v0.21.0 // indirect
	golang.org/x/text v0.19.0 // indirect
)
