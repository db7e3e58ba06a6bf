from lind.cli.main import console

console()
