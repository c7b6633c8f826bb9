// The Apache Kafka Java client, as an outside producer and consumer for the integration tests.
// Run from source with the harness jars: java -cp "<libs>/*" JavaClient.java produce|consume ...
//   produce <brokers> <count> <topic>=<compression.type>...  writes {"n":0} .. {"n":count-1} to each, keyed n
//   consume <brokers> <topic> <count> <timeoutMs> [isolation.level]
//                                                           reads from the start; prints how many records and distinct n's
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

public class JavaClient {
  public static void main(String[] args) throws Exception {
    if (args.length >= 4 && args[0].equals("produce")) {
      for (int i = 3; i < args.length; i++) {
        String[] target = args[i].split("=", 2);
        produce(args[1], target[0], target[1], Integer.parseInt(args[2]));
      }
    } else if ((args.length == 5 || args.length == 6) && args[0].equals("consume")) {
      String isolation = args.length == 6 ? args[5] : "read_uncommitted";
      consume(args[1], args[2], Integer.parseInt(args[3]), Long.parseLong(args[4]), isolation);
    } else {
      System.err.println("usage: produce <brokers> <count> <topic>=<compression.type>... | consume <brokers> <topic> <count> <timeoutMs> [isolation.level]");
      System.exit(2);
    }
  }

  static void produce(String brokers, String topic, String compression, int count) throws Exception {
    Properties props = new Properties();
    props.put("bootstrap.servers", brokers);
    props.put("compression.type", compression);
    props.put("acks", "all");
    // Batches of many records, so each compressed batch holds more than one.
    props.put("linger.ms", "20");
    props.put("key.serializer", StringSerializer.class.getName());
    props.put("value.serializer", StringSerializer.class.getName());
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
      for (int n = 0; n < count; n++) {
        producer.send(new ProducerRecord<>(topic, String.valueOf(n), "{\"n\":" + n + "}"));
      }
      producer.flush();
    }
    System.out.println("produced " + count + " to " + topic + " with " + compression);
  }

  static void consume(String brokers, String topic, int count, long timeoutMs, String isolation) {
    Properties props = new Properties();
    props.put("bootstrap.servers", brokers);
    props.put("isolation.level", isolation);
    props.put("enable.auto.commit", "false");
    props.put("key.deserializer", StringDeserializer.class.getName());
    props.put("value.deserializer", StringDeserializer.class.getName());
    Pattern number = Pattern.compile("\"n\":(\\d+)");
    TreeSet<Integer> seen = new TreeSet<>();
    int records = 0;
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
      List<TopicPartition> partitions = new ArrayList<>();
      for (PartitionInfo info : consumer.partitionsFor(topic)) partitions.add(new TopicPartition(topic, info.partition()));
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      long deadline = System.currentTimeMillis() + timeoutMs;
      while (records < count && System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(200))) {
          records++;
          Matcher match = number.matcher(record.value());
          if (match.find()) seen.add(Integer.parseInt(match.group(1)));
        }
      }
    }
    System.out.println("consumed " + records + " distinct " + seen.size());
  }
}
