from lind.cli.launch import console

console()
