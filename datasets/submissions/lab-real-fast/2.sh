# node 2 of the lab, one terminal each
npm run task2 -- --id 2
npm run task3 -- --id 2
