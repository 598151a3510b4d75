package main

import _ "example.com/badtree/issuer"

func main() {}
