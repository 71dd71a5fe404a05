0.000000 job 0 starts on node 1
0.000000 job 1 starts on node 2
0.000000 job 2 starts on node 3
0.000000 job 3 starts on node 4
1007.743861 job 4 killed on node 1 (restart from scratch)
1033.451281 job 1 done on node 2, turnaround 1033.45 s
1033.451281 job 5 starts on node 2
1178.345357 job 3 done on node 4, turnaround 1178.35 s
1178.345357 job 7 starts on node 4
1189.696027 job 10 starts on node 3
1189.696027 job 6 done on node 3, turnaround 594.85 s
1201.680345 job 10 killed on node 3 (restart from scratch)
1311.811175 job 5 killed on node 2 (restart from scratch)
1421.345768 job 7 killed on node 4 (restart from scratch)
1602.591875 job 4 done on node 1, turnaround 934.27 s
1602.591875 job 8 starts on node 1
1796.528359 job 10 done on node 3, turnaround 606.83 s
1906.659189 job 5 done on node 2, turnaround 873.21 s
1906.659189 job 9 starts on node 2
1942.140388 job 9 killed on node 2 (restart from scratch)
2016.193781 job 11 starts on node 4
2016.193781 job 7 done on node 4, turnaround 837.85 s
2197.439888 job 8 done on node 1, turnaround 594.85 s
2536.988402 job 9 done on node 2, turnaround 630.33 s
2611.041795 job 11 done on node 4, turnaround 594.85 s
438.603268 job 1 killed on node 2 (restart from scratch)
583.497343 job 3 killed on node 4 (restart from scratch)
594.848013 job 2 done on node 3, turnaround 594.85 s
594.848013 job 6 starts on node 3
668.321637 job 0 done on node 1, turnaround 668.32 s
668.321637 job 4 starts on node 1
73.473623 job 0 killed on node 1 (restart from scratch)
== order 3000 case III
0.000000 job 0 starts on node 1
0.000000 job 1 starts on node 2
0.000000 job 2 starts on node 3
0.000000 job 3 starts on node 4
1107.743861 job 4 killed on node 1 (restart from scratch)
1107.743861 node 1 reboots for 100 s
1133.451281 job 1 done on node 2, turnaround 1133.45 s
1133.451281 job 5 starts on node 2
1189.696027 job 10 starts on node 3
1189.696027 job 6 done on node 3, turnaround 594.85 s
1201.680345 job 10 killed on node 3 (restart from scratch)
1201.680345 node 3 reboots for 100 s
1278.345357 job 3 done on node 4, turnaround 1278.35 s
1278.345357 job 7 starts on node 4
1411.811175 job 5 killed on node 2 (restart from scratch)
1411.811175 node 2 reboots for 100 s
1521.345768 job 7 killed on node 4 (restart from scratch)
1521.345768 node 4 reboots for 100 s
1802.591875 job 4 done on node 1, turnaround 1034.27 s
1802.591875 job 8 starts on node 1
1896.528359 job 10 done on node 3, turnaround 706.83 s
2106.659189 job 5 done on node 2, turnaround 973.21 s
2106.659189 job 9 starts on node 2
2142.140388 job 9 killed on node 2 (restart from scratch)
2142.140388 node 2 reboots for 100 s
2216.193781 job 11 starts on node 4
2216.193781 job 7 done on node 4, turnaround 937.85 s
2397.439888 job 8 done on node 1, turnaround 594.85 s
2811.041795 job 11 done on node 4, turnaround 594.85 s
2836.988402 job 9 done on node 2, turnaround 730.33 s
438.603268 job 1 killed on node 2 (restart from scratch)
438.603268 node 2 reboots for 100 s
583.497343 job 3 killed on node 4 (restart from scratch)
583.497343 node 4 reboots for 100 s
594.848013 job 2 done on node 3, turnaround 594.85 s
594.848013 job 6 starts on node 3
73.473623 job 0 killed on node 1 (restart from scratch)
73.473623 node 1 reboots for 100 s
768.321637 job 0 done on node 1, turnaround 768.32 s
768.321637 job 4 starts on node 1
== order 3000 case IIIp
0.000000 job 0 starts on node 1
0.000000 job 1 starts on node 2
0.000000 job 2 starts on node 3
0.000000 job 3 starts on node 4
1013.331993 job 4 checkpoints (42.4 s)
1079.498013 job 4 killed on node 1 (it has a checkpoint)
1079.498013 job 4 restores from its checkpoint at 297.4 s of compute
1107.035872 job 5 checkpoints (42.4 s)
1107.791754 job 5 killed on node 2 (no checkpoint yet: restart from scratch)
1225.125513 job 7 killed on node 4 (no checkpoint yet: restart from scratch)
1274.405676 job 10 starts on node 3
1274.405676 job 6 done on node 3, turnaround 637.20 s
1287.243311 job 10 killed on node 3 (no checkpoint yet: restart from scratch)
1405.215761 job 5 checkpoints (42.4 s)
1419.276844 job 4 done on node 1, turnaround 703.37 s
1419.276844 job 8 starts on node 1
1522.549519 job 7 checkpoints (42.4 s)
1584.667318 job 10 checkpoints (42.4 s)
1716.700851 job 8 checkpoints (42.4 s)
1744.994592 job 5 done on node 2, turnaround 935.38 s
1744.994592 job 9 starts on node 2
1783.002152 job 9 killed on node 2 (no checkpoint yet: restart from scratch)
1862.328351 job 11 starts on node 4
1862.328351 job 7 done on node 4, turnaround 897.51 s
1924.446149 job 10 done on node 3, turnaround 650.04 s
2056.479682 job 8 done on node 1, turnaround 637.20 s
2080.426158 job 9 checkpoints (42.4 s)
2159.752357 job 11 checkpoints (42.4 s)
2420.204989 job 9 done on node 2, turnaround 675.21 s
2499.531189 job 11 done on node 4, turnaround 637.20 s
297.424007 job 1 checkpoints (42.4 s)
297.424007 job 2 checkpoints (42.4 s)
297.424007 job 3 checkpoints (42.4 s)
376.129155 job 0 checkpoints (42.4 s)
469.833034 job 1 killed on node 2 (it has a checkpoint)
469.833034 job 1 restores from its checkpoint at 297.4 s of compute
625.043969 job 3 killed on node 4 (it has a checkpoint)
625.043969 job 3 restores from its checkpoint at 297.4 s of compute
637.202838 job 2 done on node 3, turnaround 637.20 s
637.202838 job 6 starts on node 3
715.907987 job 0 done on node 1, turnaround 715.91 s
715.907987 job 4 starts on node 1
78.705149 job 0 killed on node 1 (no checkpoint yet: restart from scratch)
809.611866 job 1 done on node 2, turnaround 809.61 s
809.611866 job 5 starts on node 2
934.626845 job 6 checkpoints (42.4 s)
964.822800 job 3 done on node 4, turnaround 964.82 s
964.822800 job 7 starts on node 4
== order 3000 case IV
0.000000 job 0 starts on node 1
0.000000 job 1 starts on node 2
0.000000 job 2 starts on node 3
0.000000 job 3 starts on node 4
1055.686818 job 3 done on node 1, turnaround 1055.69 s
1055.686818 job 4 starts on node 1
1065.436930 job 5 checkpoints (42.4 s)
1182.770688 job 7 checkpoints (42.4 s)
1274.405676 job 6 checkpoints (42.4 s)
1353.110824 job 4 checkpoints (42.4 s)
1405.215761 job 5 done on node 2, turnaround 935.38 s
1405.215761 job 9 starts on node 2
1419.276844 job 4 killed on node 1 (it has a checkpoint)
1419.276844 job 4: image (161 MB) from node 1 to node 2
1419.276844 job 8 starts on node 1
1443.223320 job 9 killed on node 2 (no checkpoint yet: restart from scratch)
1522.549519 job 11 starts on node 4
1522.549519 job 7 done on node 4, turnaround 897.51 s
1614.184507 job 10 starts on node 3
1614.184507 job 6 done on node 3, turnaround 637.20 s
1627.022142 job 10 killed on node 3 (no checkpoint yet: restart from scratch)
1716.700851 job 8 checkpoints (42.4 s)
1740.647327 job 9 checkpoints (42.4 s)
1819.973526 job 11 checkpoints (42.4 s)
1924.446149 job 10 checkpoints (42.4 s)
2056.479682 job 8 done on node 1, turnaround 637.20 s
2080.426158 job 4 restores from its checkpoint at 297.4 s of compute
2080.426158 job 4 waited 659.3 s for a node
2080.426158 job 9 done on node 2, turnaround 675.21 s
2159.752357 job 11 done on node 4, turnaround 637.20 s
2264.224980 job 10 done on node 3, turnaround 650.04 s
2420.204989 job 4 done on node 2, turnaround 1364.52 s
297.424007 job 1 checkpoints (42.4 s)
297.424007 job 2 checkpoints (42.4 s)
297.424007 job 3 checkpoints (42.4 s)
376.129155 job 0 checkpoints (42.4 s)
469.833034 job 1 killed on node 2 (it has a checkpoint)
469.833034 job 1: image (161 MB) from node 2 to node 3
469.833034 job 5 starts on node 2
625.043969 job 3 killed on node 4 (it has a checkpoint)
625.043969 job 3: image (161 MB) from node 4 to node 1
625.043969 job 7 starts on node 4
637.202838 job 1 restores from its checkpoint at 297.4 s of compute
637.202838 job 1 waited 165.5 s for a node
637.202838 job 2 done on node 3, turnaround 637.20 s
715.907987 job 0 done on node 1, turnaround 715.91 s
715.907987 job 3 restores from its checkpoint at 297.4 s of compute
715.907987 job 3 waited 89.0 s for a node
767.257041 job 5 checkpoints (42.4 s)
768.012923 job 5 killed on node 2 (no checkpoint yet: restart from scratch)
78.705149 job 0 killed on node 1 (no checkpoint yet: restart from scratch)
885.346682 job 7 killed on node 4 (no checkpoint yet: restart from scratch)
976.981669 job 1 done on node 3, turnaround 976.98 s
976.981669 job 6 starts on node 3
== order 3000 case V
