module example.com/withdeps

go 1.19

require (
	example.com/greeter v1.3.0
	example.com/localdep v0.0.0
)

replace example.com/localdep => ./localdep
