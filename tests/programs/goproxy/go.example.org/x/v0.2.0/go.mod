module go.example.org/x

go 1.19
