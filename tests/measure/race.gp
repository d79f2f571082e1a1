# race.gp - plot 1 of docs/costs.md: how often a racy counter ends short,
# with no race amplifier (race.c). make measure runs it as
#   gnuplot -e "csv='race.csv'; out='race.svg'; workers='2 4 8 16'" race.gp
set terminal svg size 720,420 dynamic font "DejaVu Sans,13" background "#fdfdfb"
set output out
set datafile separator ","
set title "A racy counter without the race amplifier: runs that lost an update"
set logscale x 10
set format x "10^{%L}"
set xlabel "additions per worker"
set ylabel "runs that ended short (%)"
set yrange [-3:103]
set grid lc rgb "#dddddd"
set key top left title "workers"
colors = "#0b5cad #1e7b34 #b26a00 #b3261e #6b3fa0 #444444"
# Skip the header row; $1 is the workers, $2 the additions, $5 the fraction.
plot for [i = 1:words(workers)] csv every ::1 \
     using 2:(int($1) == int(word(workers, i)) ? 100 * $5 : 1/0) \
     with linespoints lw 2 pt 7 ps 0.7 lc rgb word(colors, i) title word(workers, i)
