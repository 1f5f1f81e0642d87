from kerasdoctor.cli import main

main()
