module github.com/linesight/linesight

go 1.26.0

require (
	github.com/yalue/onnxruntime_go v1.27.0 // indirect
	go.etcd.io/bbolt v1.4.3 // indirect
	gocv.io/x/gocv v0.31.0 // indirect
	golang.org/x/sys v0.29.0 // indirect
	golang.org/x/text v0.44.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)
