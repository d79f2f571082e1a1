# ops.gp - plot 2 of docs/costs.md: updates per second of one shared counter,
# by how it is guarded and by how many processes update it (ops.c,
# mgr-ops.c, ops.py). make measure runs it as
#   gnuplot -e "csv='ops.csv'; out='ops.svg'; methods='plain atomic ...'" ops.gp
set terminal svg size 720,480 dynamic font "DejaVu Sans,13" background "#fdfdfb"
set output out
set datafile separator ","
set title "What one update of a shared counter costs"
set logscale x 2
set logscale y 10
set format y "10^{%L}"
set xlabel "processes updating at once"
set ylabel "updates per second, all processes together"
set xrange [0.8:10]
set grid lc rgb "#dddddd"
set key outside right center Left reverse
name(m) = m eq "plain" ? "plain store (racy)" : \
          m eq "atomic" ? "C11 atomic\\_fetch\\_add" : \
          m eq "mutex" ? "pthread mutex" : \
          m eq "sem" ? "POSIX semaphore" : \
          m eq "manager-incr" ? "manager mgr\\_incr" : \
          m eq "manager-set" ? "manager mgr\\_set" : \
          m eq "manager-pipelined" ? "manager, pipelined incr" : \
          m eq "python-value" ? "Python Value + lock" : \
          m eq "python-manager" ? "Python Manager dict" : m
color(m) = m eq "plain" ? "#888888" : m eq "atomic" ? "#1e7b34" : \
           m eq "mutex" ? "#0b5cad" : m eq "sem" ? "#00838f" : \
           m eq "manager-incr" ? "#b3261e" : m eq "manager-set" ? "#e57373" : \
           m eq "manager-pipelined" ? "#b26a00" : \
           m eq "python-value" ? "#6b3fa0" : "#444444"
# Skip the header row; $1 is the method, $2 the processes, $3 the rate.
plot for [m in methods] csv every ::1 using 2:(strcol(1) eq m ? $3 : 1/0) \
     with linespoints lw 2 pt 7 ps 0.7 lc rgb color(m) title name(m)
