// Command broken does not compile.
package main

func main() {
	var x int = "not an int"
}
