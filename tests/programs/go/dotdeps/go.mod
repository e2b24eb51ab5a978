module example.com/dotdeps

go 1.19

require go.example.org/x v0.2.0
