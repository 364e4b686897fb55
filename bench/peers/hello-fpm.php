<?php
// php-fpm's hello world, the PHP anchor of the persistent-mode bench.
header('Content-Type: text/plain; charset=UTF-8');
echo 'Hello';
